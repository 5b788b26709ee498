"""A small demo run for examples: a three-token head swept over two damping ratios, run once
per process into a temporary folder (removed when the process exits)."""

from __future__ import annotations

import atexit
import pathlib
import shutil
import tempfile

DEMO_CONFIG = """\
name: demo
precision: float32
system: {tokens: 3, energies: {kind: list, values: [0.0, 1.0, 2.0]}, temperature: 1.0}
sweep: {damping_ratio: [0.5, 2.0]}
integrate: {t1: {relaxation_times: 20}, saves: 5}
verify: {tolerance: 1.0e-4}
"""
DEMO_FILE = "demo.yaml"
_made: list[pathlib.Path] = []  # the demo run of this process, once made


def demo_run() -> pathlib.Path:
    """The folder of a finished demo run, made on the first call in this process and reused.

    The demo is a three-token head (energies 0, 1, 2 at T = 1) in float32, swept over the
    damping ratios 0.5 and 2 (one chunk of two points, five saves each); its config is the
    file `demo.yaml` in the folder, beside the results store. The folder is temporary: it is
    removed when the process exits (a call after it was removed makes the run again).

    Examples:
        >>> from thermo_ode import sweeps
        >>> out = sweeps.demo_run()
        >>> out == sweeps.demo_run()  # made once per process
        True
        >>> loaded = sweeps.load(out / "demo.yaml")
        >>> loaded.config.name, loaded.config.precision, sweeps.plan_sweep(loaded).shape
        ('demo', 'float32', (2,))
        >>> sweeps.summarize(out).finished
        True
    """
    from .config.loading import load
    from .run import run
    from .store import store_path

    if _made and store_path(_made[-1]).is_dir():
        return _made[-1]
    folder = pathlib.Path(tempfile.mkdtemp(prefix="thermo-ode-demo-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    (folder / DEMO_FILE).write_text(DEMO_CONFIG)
    import jax

    with jax.enable_x64(False):  # the demo's precision, whatever the caller's
        run(load(folder / DEMO_FILE), folder)
    _made.append(folder)
    return folder
