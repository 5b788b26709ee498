"""Langevin sweeps from a config: bath_temperature and noise_seed as axes, fixed steps in
natural time, time averages in the store, noise that does not depend on the chunking."""

import pathlib

import numpy as np

from thermo_ode import plotting, sweeps
from thermo_ode.sweeps import open_results

THERMAL = """\
name: thermal
system:
  tokens: 5
  energies: {{kind: gaussian, scale: 1.0, seed: 0}}
  temperature: 1.0
  damping_ratio: 1.0
sweep:
  bath_temperature: [0.0, 0.3, 1.0]
  noise_seed: [0, 1]
  mass: [0.5, 2.0]
integrate: {{t1: {{natural: 200}}, burn_in: {{natural: 20}}, dt: {{natural: 0.05}}, solver: gbaoab, saves: 401, chunk_size: {chunk}}}
"""


def run(tmp_path, chunk, name):
    loaded = sweeps.parse(THERMAL.format(chunk=chunk))
    summary = sweeps.run(loaded, tmp_path / name)
    return summary, open_results(tmp_path / name).load()


def test_thermal_sweep(tmp_path):
    summary, ds = run(tmp_path, 5, "a")
    _, again = run(tmp_path, 3, "b")  # another chunking: each point keeps its own noise
    for name in ("rho", "mean_kinetic_energy", "mean_rho", "rho_fluctuation"):
        np.testing.assert_array_equal(ds[name].values, again[name].values, err_msg=name)
    assert summary.thermal == 8 and summary.failed == 0
    # Deterministic points (T_b = 0) relax; noise_seed does not touch them.
    cold = ds.sel(bath_temperature=0.0)
    assert bool(cold.converged.all())
    np.testing.assert_array_equal(cold.rho.sel(noise_seed=0).values, cold.rho.sel(noise_seed=1).values)
    # Heated points: different seeds, different paths; equipartition within 10% on these short
    # runs (180 time units x 2 seeds per point: a few hundred correlation times).
    hot = ds.sel(bath_temperature=[0.3, 1.0])
    assert not np.allclose(hot.rho.sel(noise_seed=0).values, hot.rho.sel(noise_seed=1).values)
    predicted = (5 - 1) * hot.bath_temperature / 2
    ratio = (hot.mean_kinetic_energy / predicted).mean("noise_seed")
    assert float(abs(ratio - 1).max()) < 0.1, ratio.values
    assert abs(summary.equipartition - 1) < 0.05
    # The averages' burn-in and fixed step are recorded per point in physical time.
    parameters = ds.parameters.sel(bath_temperature=1.0, noise_seed=0)
    mass = parameters.sel(parameter="mass").values
    np.testing.assert_allclose(parameters.sel(parameter="dt").values, 0.05 * np.sqrt(mass))
    np.testing.assert_allclose(parameters.sel(parameter="burn_in").values, 20 * np.sqrt(mass))
    # The spread of rho grows with the bath temperature.
    spread = ds.rho_fluctuation.mean(["noise_seed", "mass", "query", "token"])
    assert float(spread.sel(bath_temperature=0.3)) < float(spread.sel(bath_temperature=1.0))
    # Figures: the heat-bath figure, and no mass collapse (noise differs between masses).
    names = {pathlib.Path(path).stem for path in plotting.plot_run(tmp_path / "a")}
    assert "thermal" in names and "collapse" not in names
