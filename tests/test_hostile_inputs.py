"""Hostile inputs: every one ends in exit 2 with a located message (`FILE:LINE:COL: key: what`,
or the file's name and what is wrong with it), from `validate` and from `run` alike; nothing
`validate` accepts makes `run` exit 1. A hypothesis fuzz mutates a valid config and its
energies file. No test bounds wall time (how fast a refusal is depends on the machine's
load); a test that could hang (a FIFO opened for reading) stops itself after a minute."""

import io
import json
import os
import re
import signal
import tracemalloc
import zipfile

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from runs import cli as new_process_cli

from thermo_ode import cli

BASE = {
    "name": "tiny",
    "system": {
        "tokens": 3,
        "energies": {"kind": "file", "path": "e.npz"},
        "temperature": 1.0,
        "damping_ratio": 0.5,
    },
    "sweep": {"mass": [0.5, 1.0]},
    "integrate": {"t1": 10.0, "saves": 5, "chunk_size": 2},
}
LOCATED = re.compile(r"^\S+:\d+:\d+: \S+: \S")  # FILE:LINE:COL: key: message
NAMED_FILE = re.compile(r"^\S+: \S")  # FILE: what is wrong


def _dump(data) -> str:
    return yaml.safe_dump(data, sort_keys=False)


def _npz(path, **arrays):
    np.savez(path, **arrays)


HANG = 60  # seconds: only a hang (a FIFO opened for reading) takes this long


def _on_hang(signum, frame):
    raise TimeoutError(f"no answer within {HANG} s: a hang")


def _outcome(capsys, *args):
    """(exit code, stderr lines) of the CLI run in this process (stopped if it hangs)."""
    previous = signal.signal(signal.SIGALRM, _on_hang)
    signal.alarm(HANG)
    try:
        code = cli.main(list(args))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line.strip()]


def _assert_refused(capsys, config, *words):
    """validate and run both exit 2 with one located line mentioning `words`."""
    for command in ("validate", "run"):
        extra = ["--out", os.path.join(os.path.dirname(config), "out")] if command == "run" else []
        code, lines = _outcome(capsys, command, config, *extra)
        assert code == 2, (command, lines)
        assert lines and all(LOCATED.match(line) or NAMED_FILE.match(line) for line in lines), lines
        assert all(word in "\n".join(lines) for word in words), (words, lines)
        assert not os.path.exists(os.path.join(os.path.dirname(config), "out", "results.zarr"))


def _config(tmp_path, data=None, text=None, energies=(0.0, 1.0, 2.0)):
    if energies is not None:
        _npz(tmp_path / "e.npz", energies=energies)
    path = tmp_path / "c.yaml"
    path.write_text(text if text is not None else _dump(data or BASE))
    return str(path)


def _with(**changes):
    """BASE with dotted keys replaced (a value of ... deletes the key)."""
    data = json.loads(json.dumps(BASE))
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        if value is ...:
            node.pop(last, None)
        else:
            node[last] = value
    return data


BOMB = (
    "a: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))
    + "name: bomb\n"
)


def _symlink(tmp_path, name, target):
    os.symlink(target, tmp_path / name)
    return name


def _fifo(tmp_path):
    os.mkfifo(tmp_path / "pipe.npz")
    return "pipe.npz"


def _folder(tmp_path):
    (tmp_path / "folder.npz").mkdir()
    return "folder.npz"


def _compressed_zeros(path, count=300_000_000):
    """An npz of `count` int8 zeros, a few hundred kB compressed, written a MiB at a time."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|i1", "fortran_order": False, "shape": (count,)})
    block = bytes(2**20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("energies.npy", "w", force_zip64=True) as member:
            member.write(header.getvalue())
            for start in range(0, count, len(block)):
                member.write(block[: min(len(block), count - start)])


MERGED = (
    _dump(BASE)
    .replace("system:\n", "system:\n  <<: {tokens: 3, mass: 1.0, damping_ratio: 0.5}\n", 1)
    .replace("  damping_ratio: 0.5\n", "  damping_ratio: -1.0\n", 1)
)

CASES = {
    "alias bomb": (dict(text=BOMB), ("alias",)),
    "deep list": (dict(text="name: deep\nsweep:\n  mass: " + "[" * 20000 + "]" * 20000 + "\n"), ("nested",)),
    "binary file": (dict(text=None, raw=os.urandom(4096) + b"\x00\xff"), ("not",)),
    "latin-1 file": (dict(text=None, raw=_dump(BASE).encode() + "# caf\xe9\n".encode("latin-1")), ("UTF-8",)),
    "logspace n < 0": (dict(data=_with(**{"sweep.temperature": {"logspace": [0, 1, -5]}})), ("sweep.temperature",)),
    "logspace n = 1e9": (
        dict(data=_with(**{"sweep.temperature": {"logspace": [0, 1, 1_000_000_000]}})),
        ("sweep.temperature", "memory"),
    ),
    "10^12-point grid": (
        dict(
            data=_with(
                **{
                    "sweep.temperature": {"logspace": [0, 1, 10000]},
                    "sweep.damping_ratio": {"linspace": [0.1, 1, 10000]},
                    "system.damping_ratio": ...,
                    "sweep.mass": {"logspace": [-1, 1, 10000]},
                }
            )
        ),
        ("points", "memory"),
    ),
    "10^8 tokens": (
        dict(data=_with(**{"system.energies": {"kind": "gaussian"}, "system.tokens": 100_000_000})),
        ("memory",),
    ),
    "npy not npz": (dict(data=BASE, npy=True), ("not an .npz archive",)),
    "empty npz": (dict(data=BASE, arrays={}), ("no arrays",)),
    "header claims 1e11 values": (dict(data=BASE, huge_header=True), ("header claims",)),
    "complex energies": (dict(data=BASE, arrays={"energies": np.array([1 + 1j, 2, 3])}), ("complex",)),
    "boolean energies": (dict(data=BASE, arrays={"energies": np.array([True, False, True])}), ("boolean",)),
    "energies and q/k": (
        dict(data=BASE, arrays={"energies": np.zeros(3), "q": np.ones((1, 2)), "k": np.ones((3, 2))}),
        ("both",),
    ),
    "NaN energies": (dict(data=BASE, arrays={"energies": np.array([0.0, np.nan, 1.0])}), ("finite",)),
    "truncated npz": (dict(data=BASE, truncate=True), ("e.npz",)),
    "rows do not fit queries": (
        dict(data=_with(**{"system.queries": 3}), arrays={"energies": np.zeros((2, 3))}),
        ("system.queries",),
    ),
    "causal mask, too many rows": (
        dict(data=_with(**{"system.mask": "causal"}), arrays={"energies": np.zeros((4, 3))}),
        ("system.mask",),
    ),
    "negative seed": (
        dict(data=_with(**{"system.energies": {"kind": "gaussian", "seed": -1}})),
        ("system.energies.seed",),
    ),
    "seed beyond 32 bits": (dict(data=_with(**{"sweep.noise_seed": [0, 2**40]})), ("sweep.noise_seed",)),
    "NaN in an initial list": (
        dict(data=_with(**{"initial": {"kind": "list", "values": [0.5, float("nan"), 0.5]}})),
        ("initial.values",),
    ),
    "dt longer than t1": (
        dict(data=_with(**{"integrate.dt": {"natural": 50.0}, "integrate.solver": "rattle"})),
        ("integrate.dt", "longer than t1"),
    ),
    "fixed steps beyond max_steps": (
        dict(data=_with(**{"integrate.dt": 1e-6, "integrate.solver": "rattle"})),
        ("integrate.max_steps",),
    ),
    "max_steps overflows": (dict(data=_with(**{"integrate.max_steps": 2**40})), ("integrate.max_steps",)),
    "temperature underflows float32": (
        dict(data=_with(**{"precision": "float32", "system.temperature": 1e-40})),
        ("temperature", "float32"),
    ),
    "temperature 1e-320": (dict(data=_with(**{"system.temperature": 1e-320})), ("temperature", "float64")),
    "tolerances below rounding": (
        dict(data=_with(**{"integrate.rtol": 1e-300, "integrate.atol": 1e-300, "integrate.max_steps": 2**31 - 1})),
        ("integrate.rtol",),
    ),
    "float32 rtol 1e-8": (
        dict(data=_with(**{"precision": "float32", "integrate.rtol": 1e-8})),
        ("integrate.rtol", "float32"),
    ),
    "keys yes: and 7:": (dict(text=_dump(BASE) + "yes: 1\n7: 2\n"), ("yes:", "7:")),
    "config too large": (dict(text="name: big\n#" + "x" * (17 * 2**20) + "\n"), ("more than",)),
    "a boolean for a number": (dict(data=_with(**{"system.mass": True})), ("system.mass", "boolean")),
    "yes for a temperature": (
        dict(text=_dump(BASE).replace("temperature: 1.0", "temperature: yes")),
        ("system.temperature", "boolean"),
    ),
    "sweep.order": (dict(data=_with(**{"sweep.order": ["mass"]})), ("sweep.order", "unknown key")),
    "linspace n = 1": (dict(data=_with(**{"sweep.mass": {"linspace": [1, 5, 1]}})), ("sweep.mass", "n = 1")),
    "burn_in after t1": (dict(data=_with(**{"integrate.burn_in": 1000.0})), ("integrate.burn_in", "after t1")),
    "gaussian scale 1e200": (
        dict(data=_with(**{"system.energies": {"kind": "gaussian", "scale": 1e200}})),
        ("energy spread",),
    ),
    "damping_ratio 1e300": (dict(data=_with(**{"system.damping_ratio": 1e300})), ("system.damping_ratio",)),
    "t1 1e308": (dict(data=_with(**{"integrate.t1": 1e308})), ("integrate.t1", "natural time units")),
    "d_k 1e12": (
        dict(data=_with(**{"system.energies": {"kind": "random_qk", "d_k": 10**12}})),
        ("system.energies.d_k",),
    ),
    "name of 300 characters": (dict(data=_with(name="n" * 300)), ("name", "100 characters")),
    "recursive alias": (dict(text=_dump(BASE) + "x: &a [*a]\n"), ("contains itself",)),
    "30,000 unknown keys": (
        dict(text=_dump(BASE) + "".join(f"k{i}: 1\n" for i in range(30000))),
        ("unknown key", "more problems"),
    ),
    # An energies file that is no regular file: refused by what `stat` says, never opened.
    "energies path of 5000 characters": (
        dict(data=BASE, energies_at=lambda tmp: "x" * 5000),
        ("system.energies.path", "too long"),
    ),
    "energies path with a NUL byte": (
        dict(data=BASE, energies_at=lambda tmp: "e\0.npz"),
        ("system.energies.path", "NUL"),
    ),
    "energies path a symlink loop": (
        dict(data=BASE, energies_at=lambda tmp: _symlink(tmp, "loop.npz", "loop.npz")),
        ("system.energies.path", "loop.npz", "symbolic link loop"),
    ),
    "energies path a dangling symlink": (
        dict(data=BASE, energies_at=lambda tmp: _symlink(tmp, "gone.npz", "nowhere.npz")),
        ("system.energies.path", "nowhere.npz", "does not exist"),
    ),
    "energies path a FIFO": (dict(data=BASE, energies_at=_fifo), ("system.energies.path", "named pipe")),
    "energies path /dev/zero": (
        dict(data=BASE, energies_at=lambda tmp: "/dev/zero"),
        ("system.energies.path", "device"),
    ),
    "energies path a folder": (dict(data=BASE, energies_at=_folder), ("system.energies.path", "a folder")),
    "compressed npz of 3e8 zeros": (
        dict(data=BASE, compressed_zeros=True, max_memory=2**27),
        ("system.energies.path", "(300000000,)", "2 GiB"),
    ),
    "merged key overridden": (dict(text=MERGED), ("system.damping_ratio", "greater than")),
    "union names in a key path": (
        dict(data=_with(**{"system.energies": {"kind": "list", "values": [0.0, 1.0, "x"]}})),
        ("system.energies.values[2]: Input should be a valid number",),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_input_is_refused_with_a_location(tmp_path, capsys, case):
    spec, words = CASES[case]
    energies_path = tmp_path / "e.npz"
    if "arrays" in spec:
        np.savez(energies_path, **spec["arrays"])
    elif spec.get("npy"):
        np.save(energies_path, np.zeros(3))
        os.replace(str(energies_path) + ".npy", energies_path)
    elif spec.get("huge_header"):
        buffer = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            buffer, {"descr": "<f8", "fortran_order": False, "shape": (100_000_000_000,)}
        )
        with zipfile.ZipFile(energies_path, "w") as archive:
            archive.writestr("energies.npy", buffer.getvalue() + b"\0" * 24)
    elif spec.get("compressed_zeros"):
        _compressed_zeros(energies_path)
    else:
        _npz(energies_path, energies=np.array([0.0, 1.0, 2.0]))
    if "energies_at" in spec:
        spec = dict(spec, data=_with(**{"system.energies.path": spec["energies_at"](tmp_path)}))
    if spec.get("truncate"):
        energies_path.write_bytes(energies_path.read_bytes()[:-40])
    config = tmp_path / "c.yaml"
    if "raw" in spec:
        config.write_bytes(spec["raw"])
    else:
        config.write_text(spec["text"] if spec.get("text") is not None else _dump(spec["data"]))
    if "max_memory" in spec:  # sized from its headers: refused without inflating it
        tracemalloc.start()
        try:
            _assert_refused(capsys, str(config), *words)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < spec["max_memory"], f"{peak / 2**20:.0f} MiB allocated to refuse it"
    else:
        _assert_refused(capsys, str(config), *words)


# --- fuzz ------------------------------------------------------------------------------------------

PATHS = [
    "name",
    "precision",
    "system.tokens",
    "system.queries",
    "system.temperature",
    "system.mass",
    "system.damping_ratio",
    "system.damping",
    "system.mask",
    "system.bath_temperature",
    "system.energies.kind",
    "system.energies.path",
    "sweep.mass",
    "sweep.temperature",
    "sweep.seed",
    "sweep.tokens",
    "initial",
    "initial.kind",
    "initial.values",
    "integrate.t1",
    "integrate.saves",
    "integrate.dt",
    "integrate.solver",
    "integrate.rtol",
    "integrate.atol",
    "integrate.max_steps",
    "integrate.chart",
    "integrate.chunk_size",
    "verify.tolerance",
    "unknown_key",
    "system.extra",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, 2, 3, -1, 2**31, 2**63]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e-320, 1e-40, 1e300, 0.5, 1e-12]),
    st.text(max_size=12),
    st.sampled_from(["float32", "causal", "rattle", "gbaoab", "logit", "gaussian", "list", "e.npz", "missing.npz"]),
)
VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=4),
    st.fixed_dictionaries({"logspace": st.lists(SCALARS, min_size=2, max_size=4)}),
    st.fixed_dictionaries({"natural": SCALARS}),
    st.fixed_dictionaries({"relaxation_times": SCALARS}),
    st.dictionaries(st.sampled_from(["kind", "values", "seed", "alpha"]), SCALARS, max_size=3),
)
ENERGY_FILES = st.one_of(
    st.just(("energies", np.array([0.0, 1.0, 2.0]))),
    st.tuples(
        st.sampled_from(["energies", "q", "k", "x"]),
        st.sampled_from(
            [
                np.zeros(3),
                np.zeros((2, 3)),
                np.zeros((0, 3)),
                np.array([1j, 2, 3]),
                np.ones(3, bool),
                np.array(["a", "b", "c"]),
                np.array([np.inf, 0, 0]),
                np.zeros((2, 2, 3)),
                np.arange(3, dtype=np.int8),
            ]
        ),
    ),
)


def _mutate(data, mutations):
    data = json.loads(json.dumps(data))
    for dotted, value in mutations:
        *parents, last = dotted.split(".")
        node = data
        for part in parents:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        if value == "<delete>":
            node.pop(last, None)
        else:
            node[last] = value
    return data


def test_fuzz_validate_answers_ok_or_a_located_exit_2_and_run_agrees(tmp_path_factory, capsys, cache_dir):
    """Mutated configs and energies files: `validate` answers exit 0 or exit 2 with located
    lines, never a traceback; the first two it accepts then run to exit 0."""
    accepted, refused = [], []

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    @given(
        mutations=st.lists(
            st.tuples(st.sampled_from(PATHS), st.one_of(VALUES, st.just("<delete>"))), min_size=1, max_size=3
        ),
        energy=ENERGY_FILES,
        garble=st.sampled_from([None, None, "truncate", "flip"]),
    )
    def fuzz(mutations, energy, garble):
        folder = tmp_path_factory.mktemp("fuzz")
        name, array = energy
        np.savez(folder / "e.npz", **{name: array})
        if garble == "truncate":
            (folder / "e.npz").write_bytes((folder / "e.npz").read_bytes()[:-30])
        elif garble == "flip":
            raw = bytearray((folder / "e.npz").read_bytes())
            raw[len(raw) // 2] ^= 0xFF
            (folder / "e.npz").write_bytes(bytes(raw))
        try:
            text = _dump(_mutate(BASE, mutations))
        except (ValueError, OverflowError):
            return
        (folder / "c.yaml").write_text(text)
        code, lines = _outcome(capsys, "validate", str(folder / "c.yaml"))
        if code == 0:
            accepted.append(folder)
            return
        assert code == 2, lines
        assert lines and all(LOCATED.match(line) or NAMED_FILE.match(line) for line in lines), lines
        refused.append(lines[0])

    fuzz()
    assert refused and accepted, (len(refused), len(accepted))
    for folder in accepted[:2]:
        result = new_process_cli(
            "run", str(folder / "c.yaml"), "--out", str(folder / "out"), cache_dir=cache_dir, timeout=300
        )
        assert result.returncode == 0, ((folder / "c.yaml").read_text(), result.stdout[-2000:], result.stderr[-2000:])


def _bad_folders(tmp_path) -> dict:
    """Each folder path that cannot be a run's output or cache folder, and a word of its refusal."""
    (tmp_path / "f").write_text("")
    os.symlink("loop", tmp_path / "loop")
    os.symlink("nowhere", tmp_path / "dangling")
    os.mkfifo(tmp_path / "pipe")
    return {
        "a file": (tmp_path / "f", "not a folder"),
        "inside a file": (tmp_path / "f" / "run", "not a folder"),
        "a name too long": (tmp_path / ("b" * 300), "longer than"),
        "a path of 5000 characters": (tmp_path / "/".join(["c" * 99] * 50), "too long"),
        "a NUL byte": (tmp_path / "o\0ut", "NUL"),
        "a symlink loop": (tmp_path / "loop", "symbolic link loop"),
        "a dangling symlink": (tmp_path / "dangling", "does not exist"),
        "a FIFO": (tmp_path / "pipe", "named pipe"),
        "a device": ("/dev/zero", "device"),
    }


BAD_FOLDERS = [
    "a file",
    "inside a file",
    "a name too long",
    "a path of 5000 characters",
    "a NUL byte",
    "a symlink loop",
    "a dangling symlink",
    "a FIFO",
    "a device",
]


@pytest.mark.parametrize("option", ["--out", "--cache-dir"])
@pytest.mark.parametrize("case", BAD_FOLDERS)
def test_bad_out_and_cache_folders_are_refused_by_validate_and_run(tmp_path, capsys, option, case):
    config = _config(tmp_path)
    folder, word = _bad_folders(tmp_path)[case]
    given = ["--out", str(folder)] if option == "--out" else ["--out", str(tmp_path / "out"), option, str(folder)]
    for command in ("validate", "run"):
        code, lines = _outcome(capsys, command, config, *given)
        assert code == 2 and len(lines) == 1 and f"{option}: " in lines[0] and word in lines[0], (command, lines)
        assert len(lines[0]) < 400, lines  # one readable line: a long path is shortened
    assert not (tmp_path / "out").exists()


def test_a_cache_folder_from_the_environment_is_checked_too(tmp_path, capsys, monkeypatch):
    config = _config(tmp_path)
    (tmp_path / "f").write_text("")
    monkeypatch.setenv("THERMO_ODE_CACHE_DIR", str(tmp_path / "f"))
    for command in ("validate", "run"):
        code, lines = _outcome(capsys, command, config, "--out", str(tmp_path / "out"))
        assert code == 2 and len(lines) == 1 and "$THERMO_ODE_CACHE_DIR: " in lines[0], (command, lines)


def test_out_holding_another_run_and_chunks_beyond_the_sweep_are_refused(tmp_path, capsys, cache_dir):
    config = _config(tmp_path)
    out = str(tmp_path / "out")
    created = new_process_cli(
        "run", config, "--out", out, "--chunks", "0:0", cache_dir=cache_dir, timeout=300
    )  # creates the store, runs nothing
    assert created.returncode == 0, created.stderr
    other = tmp_path / "other.yaml"
    other.write_text(_dump(_with(**{"sweep.mass": [0.25, 1.0]})))
    code, lines = _outcome(capsys, "validate", str(other), "--out", out)
    assert code == 2 and "holds results of a different config" in lines[0]
    code, lines = _outcome(capsys, "run", config, "--out", out, "--chunks", "3:9")
    assert code == 2 and lines == ["--chunks: 3:9 goes beyond the sweep's 1 chunks (0:1)"]
