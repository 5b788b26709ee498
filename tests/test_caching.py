"""The persistent compilation cache offered to library users: a second process loads the
programs the first compiled instead of compiling them again."""

import json
import subprocess
import sys

SCRIPT = """
import json, sys
import thermo_ode as to
to.enable_compilation_cache(sys.argv[1])   # first thing, before equinox is imported
import jax, numpy as np
counts = {"hits": 0, "misses": 0}
def listen(event, **kwargs):
    if event.startswith("/jax/compilation_cache/cache_"):
        counts[event.rsplit("_", 1)[1]] += 1
jax.monitoring.register_event_listener(listen)
system = to.AttentionSystem(np.array([0.0, 1.0, 2.0]), 1.0, 1.0, 1.0)
traj = to.simulate(system, np.full(3, 1 / 3), 20.0, saves=5)
print(json.dumps(dict(counts, status=int(traj.status))))
"""


def test_second_process_loads_the_compiled_programs(tmp_path):
    runs = []
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(tmp_path / "cache")], capture_output=True, text=True, check=True
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    first, second = runs
    assert first["status"] == second["status"] == 0
    assert first["misses"] > 0 and second["misses"] == 0 and second["hits"] >= first["misses"]


def test_late_call_warns_that_diffrax_programs_will_not_be_cached(tmp_path):
    code = "import warnings, equinox, thermo_ode as to; warnings.simplefilter('error'); to.enable_compilation_cache(sys.argv[1])"
    out = subprocess.run(
        [sys.executable, "-c", "import sys; " + code, str(tmp_path)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)},
    )
    assert out.returncode != 0 and "will not be cached" in out.stderr
