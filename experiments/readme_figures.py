"""Regenerate the figures shown in the README (docs/figures/): the default run's figures via
`thermo-ode plot`'s code path, an N = 3 simplex figure, the heat-bath study's figure, the
energy error of RATTLE against Tsit5 over 1e4 periods, and an N = 2 stationary histogram.

Run: python experiments/readme_figures.py
"""

from _report import DOCS_FIGURES, options

OUT = options(__doc__, default=DOCS_FIGURES)

import pathlib
import shutil
import tempfile

import jax
import numpy as np
from _report import Timer

import thermo_ode as to
from thermo_ode import plotting, sweeps

timer = Timer()
target = OUT
target.mkdir(parents=True, exist_ok=True)
run_dir = pathlib.Path(tempfile.mkdtemp()) / "default"
sweeps.run(sweeps.load(sweeps.default_config_path()), run_dir)
for path in plotting.plot_run(run_dir):
    shutil.copy(path, target / pathlib.Path(path).name)

masses = np.array([0.2, 1.0, 5.0])
system = to.AttentionSystem(
    np.broadcast_to([0.0, 0.8, 1.6], (3, 3)), 1.0, masses, np.array([0.3, 1.2, 6.0]) * np.sqrt(masses)
)
starts = np.array([[0.05, 0.15, 0.8], [0.1, 0.8, 0.1], [0.7, 0.05, 0.25]])
traj = to.simulate(system, starts, 40 * np.sqrt(masses), saves=800)
plotting.save(plotting.plot_simplex([plotting.series_from_trajectory(traj, i) for i in range(3)]), target / "simplex")
thermal_dir = pathlib.Path(tempfile.mkdtemp()) / "thermal"
sweeps.run(sweeps.load(pathlib.Path(__file__).parent.parent / "configs" / "thermal-bath.yaml"), thermal_dir)
for path in plotting.plot_run(thermal_dir):
    if pathlib.Path(path).stem == "thermal":
        shutil.copy(path, target / "thermal.png")

# Energy error over 1e4 small-oscillation periods, equal force evaluations (tests/test_symplectic.py).
conservative = to.AttentionSystem(np.array([0.3, -0.5, 1.0]), 1.0, 1.0, 0.0)
t1 = 2 * np.pi * 1e4
ts = np.linspace(0, t1, 4001)
runs = []
for label, kwargs in (
    ("RATTLE, dt = 0.1 (628,319 force evaluations)", dict(solver="rattle", dt=0.1)),
    ("Tsit5, dt = 0.6 (same evaluations)", dict(solver="tsit5", dt=0.6)),
    ("Tsit5 adaptive, rtol 1e-6 (2.7x the evaluations)", dict(solver="tsit5", rtol=1e-6, atol=1e-8)),
):
    traj = to.simulate(conservative, np.array([0.4, 0.35, 0.25]), t1, ts=ts, max_steps=10**6, **kwargs)
    runs.append(plotting.series_from_trajectory(traj)._replace(label=label))
plotting.save(plotting.plot_energy_error(runs), target / "energy_error")

# Stationary density for N = 2 (tests/test_langevin.py): 200 systems, 20 states each, 10 apart.
energies = np.array([0.0, 1.0])
batch = to.AttentionSystem(np.broadcast_to(energies, (200, 2)), 1.0, 1.0, 1.0)
sample_times = 20.0 + 10.0 * np.arange(20)
traj = to.simulate(
    batch,
    np.full((200, 2), 0.5),
    sample_times[-1],
    ts=sample_times,
    dt=0.05,
    bath_temperature=0.5,
    key=jax.random.key(0),
)
samples = np.asarray(traj.rho)[..., 0].ravel()
plotting.save(plotting.plot_stationary_density(samples, energies, 1.0, 0.5), target / "stationary_density")
print(f"figures in {target} ({timer.seconds} s)")
