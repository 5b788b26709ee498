"""The experiments' committed results are complete, and the README reports them as measured."""

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "experiments"))

from summarize import ORDER, table  # noqa: E402

VERDICTS = {"supported", "not supported", "not testable as stated"}


def test_every_experiment_has_a_script_result_and_figure():
    for name in ORDER:
        assert (ROOT / "experiments" / f"{name}.py").exists(), name
        result = json.loads((ROOT / "experiments" / "results" / f"{name}.json").read_text())
        assert set(result["verdict"].split("; ")) <= VERDICTS, name
        for key in ("claim", "run", "outcome"):
            assert len(result[key]) > 40, (name, key)
        assert (ROOT / result["figure"]).exists(), name


def test_readme_table_matches_the_results():
    readme = (ROOT / "README.md").read_text()
    assert table() in readme, "README's experiments table is stale: paste `python experiments/summarize.py`"
