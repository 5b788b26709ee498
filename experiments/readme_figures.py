"""Regenerate the figures shown in the README (docs/figures/): the default run's figures via
`thermo-ode plot`'s code path, and an N = 3 simplex figure.

Run: python experiments/readme_figures.py
"""

import pathlib
import shutil
import tempfile

import numpy as np

import thermo_ode as to
from _report import Timer
from thermo_ode import config, plotting, runner

timer = Timer()
target = pathlib.Path(__file__).parent.parent / "docs" / "figures"
target.mkdir(parents=True, exist_ok=True)
run_dir = pathlib.Path(tempfile.mkdtemp()) / "default"
runner.run(config.load(config.default_config_path()), run_dir)
for path in plotting.plot_run(run_dir):
    shutil.copy(path, target / pathlib.Path(path).name)

masses = np.array([0.2, 1.0, 5.0])
system = to.AttentionSystem(np.broadcast_to([0.0, 0.8, 1.6], (3, 3)), 1.0, masses, np.array([0.3, 1.2, 6.0]) * np.sqrt(masses))
starts = np.array([[0.05, 0.15, 0.8], [0.1, 0.8, 0.1], [0.7, 0.05, 0.25]])
traj = to.simulate(system, starts, 40 * np.sqrt(masses), saves=800)
plotting.save(plotting.plot_simplex([plotting.series_from_trajectory(traj, i) for i in range(3)]), target / "simplex")
print(f"figures in {target} ({timer.seconds} s)")
