"""Print the README's experiments table from experiments/results/*.json.

Run: python experiments/summarize.py   (after running the experiments)
"""

import json
import pathlib

ORDER = ["softmax_equilibrium", "sqrt_dk_temperature", "constant_multiplier", "specific_heat", "equation_of_state", "rope_symmetry", "layer_trajectory"]


def table() -> str:
    results = pathlib.Path(__file__).parent / "results"
    lines = ["| experiment | claim (paper) | outcome (measured) | verdict |", "|---|---|---|---|"]
    for name in ORDER:
        r = json.loads((results / f"{name}.json").read_text())
        lines.append(f"| [`{name}.py`](experiments/{name}.py) ([figure]({r['figure']})) | {r['claim']} | {r['outcome']} | **{r['verdict']}** |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
