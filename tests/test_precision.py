"""float32 works and reports its accuracy; importing the library never flips x64."""

import json
import subprocess
import sys
import textwrap

import numpy as np

import thermo_ode as to

FLOAT32_RUN = textwrap.dedent(
    """
    import json, numpy as np, jax
    import thermo_ode as to
    assert not jax.config.jax_enable_x64, "importing thermo_ode enabled x64"
    rng = np.random.default_rng(0)
    system = to.AttentionSystem(rng.normal(size=(3, 8)).astype(np.float32), np.float32(1.0), np.float32(1.0), np.float32(1.0))
    traj = to.simulate(system, np.full(8, 1 / 8), 40.0, saves=9, rtol=1e-5, atol=1e-7)
    print(json.dumps({"dtype": str(traj.rho.dtype), "rho": np.asarray(traj.rho, float).tolist(),
                      "status": np.asarray(traj.status).tolist(), "final": np.asarray(traj.final_distance, float).tolist()}))
    """
)


def test_float32_run_and_its_accuracy_against_float64():
    out = subprocess.run([sys.executable, "-c", FLOAT32_RUN], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["dtype"] == "float32"
    assert result["status"] == [0, 0, 0]
    rng = np.random.default_rng(0)
    reference = to.simulate(
        to.AttentionSystem(rng.normal(size=(3, 8)).astype(np.float32).astype(np.float64), 1.0, 1.0, 1.0),
        np.full(8, 1 / 8),
        40.0,
        saves=9,
        rtol=1e-10,
        atol=1e-12,
    )
    error = np.abs(np.asarray(result["rho"]) - np.asarray(reference.rho)).max()
    print(f"float32 max |rho - rho_float64| = {error:.2e}")
    assert error < 2e-5
    assert max(result["final"]) < 1e-5  # float32 reaches softmax to about its rounding


def test_import_leaves_x64_alone():
    code = "import jax, thermo_ode; print(jax.config.jax_enable_x64)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
