"""Every figure renders headless (MPLBACKEND=Agg, set in conftest) to a non-blank file."""

import textwrap

import numpy as np
import pytest
from PIL import Image

import thermo_ode as to
from thermo_ode import plotting
from thermo_ode.cli import main
from helpers import crossing_times


def _not_blank(path):
    pixels = np.asarray(Image.open(path).convert("L"), float)
    assert pixels.size > 100_000, path
    # A blank (single-colour) image has no spread; a figure has axes, text and curves.
    assert pixels.std() > 10 and (pixels < 128).mean() > 0.005, path


@pytest.fixture(scope="module")
def trajectories():
    rng = np.random.default_rng(0)
    masses = np.array([0.3, 1.0, 3.0])
    system = to.AttentionSystem(np.broadcast_to(rng.normal(size=3) * 1.5, (3, 3)), 1.0, masses, 2 * 0.3 * np.sqrt(masses))
    omega0 = np.sqrt(1.0 / masses)
    traj = to.simulate(system, np.array([0.6, 0.3, 0.1]), 40 / omega0, saves=600)
    return [plotting.series_from_trajectory(traj, i) for i in range(3)]


def test_library_figures(tmp_path, trajectories):
    figures = {
        "trajectory": plotting.plot_trajectory(trajectories[0]),
        "relaxation": plotting.plot_relaxation(trajectories),
        "energy": plotting.plot_energy(trajectories[0]),
        "phase_portrait": plotting.plot_phase_portrait(trajectories),
        "simplex": plotting.plot_simplex(trajectories),
        "collapse": plotting.plot_collapse(trajectories),
        "heat_capacity": plotting.plot_heat_capacity({"random": np.random.default_rng(1).normal(size=32), "two-level": np.r_[0.0, np.ones(15)]}),
    }
    for name, fig in figures.items():
        for path in plotting.save(fig, tmp_path / name, svg=True):
            _not_blank(path) if path.endswith(".png") else None
            assert (tmp_path / path).exists()


def test_conservative_energy_figure_reports_drift(tmp_path):
    system = to.AttentionSystem(np.array([0.0, 1.0, 2.0]), 1.0, 1.0, 0.0)
    s = plotting.series_from_trajectory(to.simulate(system, np.full(3, 1 / 3), 30.0, rtol=1e-12, atol=1e-14))
    fig = plotting.plot_energy(s)
    assert "conserved" in fig.axes[0].get_title()
    _not_blank(plotting.save(fig, tmp_path / "energy")[0])


def test_heat_capacity_curve_peak():
    """Two levels, gap 1, degeneracy g: the Schottky peak solves x tanh-like equation; check the
    curve against Var(E)/T^2 computed by hand at one temperature."""
    E = np.r_[0.0, np.ones(9)]
    T = 0.7
    w = np.exp(-E / T)
    p = w / w.sum()
    expected = (p @ E**2 - (p @ E) ** 2) / T**2
    np.testing.assert_allclose(plotting.heat_capacity_curve(E, [T]), [expected], rtol=1e-14)


def test_slowest_mode_oscillates_at_omega_d(trajectories):
    """The phase-portrait coordinate is a real mode: it crosses zero every pi / omega_d."""
    s = trajectories[1]
    a, _ = plotting.slowest_mode(s)
    linear = (s.distance < 1e-3) & (s.distance > 1e-8)  # linear, and above the solver noise
    crossings = crossing_times(s.t[linear], a[linear])
    assert len(crossings) >= 4
    omega_d = s.natural_frequency * np.sqrt(1 - s.damping_ratio**2)
    np.testing.assert_allclose(np.mean(np.diff(crossings)), np.pi / omega_d, rtol=0.01)


def _run(tmp_path, text):
    from thermo_ode import config, runner

    runner.run(config.parse(textwrap.dedent(text)), tmp_path / "run")
    return tmp_path / "run"


def test_plot_command_on_a_run(tmp_path):
    run = _run(tmp_path, """\
    name: plots
    system:
      tokens: 3
      energies: {kind: gaussian, scale: 1.0, seed: 0}
      damping_ratio: 0.4
    sweep:
      temperature: [0.5, 2.0]
      mass: [0.1, 1.0, 10.0]
    integrate: {t1: {relaxation_times: 20}, saves: 81}
    """)
    assert main(["plot", str(run), "--svg"]) == 0
    names = {p.stem for p in (run / "figures").glob("*.png")}
    assert names == {"trajectory", "relaxation", "energy", "phase_portrait", "simplex", "convergence_map", "collapse", "heat_capacity"}
    for png in (run / "figures").glob("*.png"):
        _not_blank(png)
    assert len(list((run / "figures").glob("*.svg"))) == 8


def test_damping_ratio_convergence_map(tmp_path):
    from thermo_ode.store import open_results

    run = _run(tmp_path, """\
    name: zeta
    system:
      tokens: 4
      energies: {kind: gaussian, scale: 1.0, seed: 0}
      temperature: 1.0
    sweep:
      damping_ratio: [0.3, 1.0, 3.0]
    integrate: {t1: {relaxation_times: 20}, saves: 41}
    """)
    _not_blank(plotting.save(plotting.plot_convergence_map(open_results(run)), tmp_path / "map")[0])
