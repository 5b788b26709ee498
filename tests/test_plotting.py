"""Every figure renders headless (MPLBACKEND=Agg, set in conftest) to a non-blank file, and says
what it plots: time axes match their data, a collapse is drawn only where it holds."""

import pathlib
import textwrap

import numpy as np
import pytest
from helpers import crossing_times
from PIL import Image

import thermo_ode as to
from thermo_ode import plotting
from thermo_ode.cli import main
from thermo_ode.sweeps import open_results


def _not_blank(path):
    pixels = np.asarray(Image.open(path).convert("L"), float)
    assert pixels.size > 100_000, path
    # A blank (single-colour) image has no spread; a figure has axes, text and curves.
    assert pixels.std() > 10 and (pixels < 128).mean() > 0.005, path


@pytest.fixture(scope="module")
def trajectories():
    rng = np.random.default_rng(0)
    masses = np.array([0.3, 1.0, 3.0])
    system = to.AttentionSystem(
        np.broadcast_to(rng.normal(size=3) * 1.5, (3, 3)), 1.0, masses, 2 * 0.3 * np.sqrt(masses)
    )
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
        "heat_capacity": plotting.plot_heat_capacity(
            {"random": np.random.default_rng(1).normal(size=32), "two-level": np.r_[0.0, np.ones(15)]}
        ),
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
    from thermo_ode import sweeps

    sweeps.run(sweeps.parse(textwrap.dedent(text)), tmp_path / "run")
    return tmp_path / "run"


def test_plot_command_on_a_run(tmp_path):
    run = _run(
        tmp_path,
        """\
    name: plots
    system:
      tokens: 3
      energies: {kind: gaussian, scale: 1.0, seed: 0}
      damping_ratio: 0.4
    sweep:
      temperature: [0.5, 2.0]
      mass: [0.1, 1.0, 10.0]
    integrate: {t1: {relaxation_times: 20}, saves: 81}
    """,
    )
    assert main(["plot", str(run), "--svg"]) == 0
    names = {p.stem for p in (run / "figures").glob("*.png")}
    assert names == {
        "trajectory",
        "relaxation",
        "energy",
        "phase_portrait",
        "simplex",
        "convergence_map",
        "collapse",
        "heat_capacity",
    }
    for png in (run / "figures").glob("*.png"):
        _not_blank(png)
    assert len(list((run / "figures").glob("*.svg"))) == 8


def test_damping_ratio_convergence_map(tmp_path):
    run = _run(
        tmp_path,
        """\
    name: zeta
    system:
      tokens: 4
      energies: {kind: gaussian, scale: 1.0, seed: 0}
      temperature: 1.0
    sweep:
      damping_ratio: [0.3, 1.0, 3.0]
    integrate: {t1: {relaxation_times: 20}, saves: 41}
    """,
    )
    fig = plotting.plot_convergence_map(open_results(run))
    assert "median" not in " ".join(_texts(fig))  # one row per damping ratio: nothing to take the median of
    _not_blank(plotting.save(fig, tmp_path / "map")[0])


def _texts(fig):
    """Every piece of text on a figure: titles, labels, legends, annotations."""
    texts = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        texts += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()] + [t.get_text() for t in ax.texts]
        if ax.get_legend():
            texts += [t.get_text() for t in ax.get_legend().get_texts()] + [ax.get_legend().get_title().get_text()]
    return texts


@pytest.fixture(scope="module")
def three_axes_run(tmp_path_factory):
    """Temperature x mass x damping ratio: a fixed-zeta slice exists for every (T, zeta)."""
    return _run(
        tmp_path_factory.mktemp("three-axes"),
        """\
    name: three-axes
    system:
      tokens: 3
      energies: {kind: gaussian, scale: 1.0, seed: 0}
    sweep:
      temperature: [1.5, 3.0]
      mass: [0.5, 2.0]
      damping_ratio: [0.3, 2.0]
    integrate: {t1: {relaxation_times: 20}, saves: 41}
    """,
    )


@pytest.fixture(scope="module")
def fixed_damping_run(tmp_path_factory):
    """Mass swept at a fixed damping gamma: zeta = gamma / (2 sqrt(m T)) changes with m."""
    return _run(
        tmp_path_factory.mktemp("fixed-damping"),
        """\
    name: fixed-damping
    system:
      tokens: 3
      energies: {kind: gaussian, scale: 1.0, seed: 0}
      temperature: 1.5
      damping: 1.0
    sweep:
      mass: [0.5, 2.0]
    integrate: {t1: {relaxation_times: 20}, saves: 41}
    """,
    )


def test_collapse_is_drawn_at_one_damping_ratio_and_its_curves_coincide(three_axes_run, tmp_path):
    raw = open_results(three_axes_run, grid=False)
    points, reason = plotting.collapse_points(raw)
    series = [plotting.series_from_results(raw, i) for i in points]
    assert len({s.mass for s in series}) == 2, reason
    assert len({s.temperature for s in series}) == 1
    assert np.ptp([s.damping_ratio for s in series]) < 1e-12
    fig = plotting.plot_collapse(series)
    curves = [(line.get_xdata(), line.get_ydata()) for line in fig.axes[1].get_lines()]
    assert len(curves) == 2
    (x0, y0), (x1, y1) = curves
    # Both runs end 20 relaxation times in, the same natural time at one zeta: the same saves.
    np.testing.assert_allclose(x1, x0, rtol=1e-12)
    assert np.abs(y1 - y0).max() < 1e-6 * y0.max()
    assert "zeta = 0.3" in fig.texts[0].get_text() or "zeta = 2" in fig.texts[0].get_text()
    written = plotting.plot_run(three_axes_run, figures_dir=tmp_path / "figures")
    assert str(tmp_path / "figures" / "collapse.png") in written


def test_no_collapse_is_claimed_when_zeta_varies_with_mass(fixed_damping_run, tmp_path, capsys):
    raw = open_results(fixed_damping_run, grid=False)
    points, reason = plotting.collapse_points(raw)
    assert points == [] and "damping ratio" in reason
    with pytest.raises(ValueError, match="damping ratio"):
        plotting.plot_collapse([plotting.series_from_results(raw, i) for i in range(raw.sizes["point"])])
    written = plotting.plot_run(fixed_damping_run, figures_dir=tmp_path / "figures")
    assert "collapse" not in {pathlib.Path(p).stem for p in written}
    assert not (tmp_path / "figures" / "collapse.png").exists()
    assert reason in capsys.readouterr().err


def test_convergence_map_says_it_is_a_median_over_the_other_axes(three_axes_run):
    fig = plotting.plot_convergence_map(open_results(three_axes_run))
    assert any("median over damping_ratio" in text for text in _texts(fig)), _texts(fig)


def test_time_axes_are_labelled_with_the_time_they_plot(trajectories):
    """Physical time `t` in the inputs' time unit, or natural time `tau = t sqrt(T/m)`; masses
    0.3 and 3 at T = 1 make the two differ."""
    clocks = {
        "physical time t": lambda s: s.t,
        "natural time tau = t sqrt(T/m)": lambda s: s.t * np.sqrt(s.temperature / s.mass),
    }
    figures = [
        plotting.plot_trajectory(trajectories[0]),
        plotting.plot_relaxation(trajectories),
        plotting.plot_energy(trajectories[2]),
        plotting.plot_collapse(trajectories),
        plotting.plot_energy_error(trajectories),
    ]
    for fig in figures:
        time_axes = [ax for ax in fig.axes if "time" in ax.get_xlabel()]
        assert time_axes and not any("1/omega" in text for text in _texts(fig)), _texts(fig)
        for ax in time_axes:
            (clock,) = [c for name, c in clocks.items() if ax.get_xlabel().startswith(name)]
            curves = [line.get_xdata() for line in ax.get_lines() if len(line.get_xdata()) > 2]  # not axhline's [0, 1]
            assert curves
            for x in curves:  # each curve is drawn over (the tail of) one series' clock
                assert any(np.allclose(x, clock(s)[len(s.t) - len(x) :], rtol=1e-12) for s in trajectories), (
                    ax.get_xlabel()
                )


def test_cubic_hermite_meets_the_samples_and_their_slopes():
    t = np.array([0.0, 0.4, 1.5, 1.7, 3.0])
    y = np.stack([np.sin(t), np.exp(-t)], -1)
    dy = np.stack([np.cos(t), -np.exp(-t)], -1)
    value, slope = plotting.cubic_hermite(t, y, dy, t)
    np.testing.assert_allclose(value, y, rtol=0, atol=1e-15)
    np.testing.assert_allclose(slope, dy, rtol=0, atol=1e-14)
    # Exact for a cubic.
    at = np.linspace(0, 3, 301)
    cubic = lambda x: 2 * x**3 - x**2 + 0.5 * x - 1
    value, slope = plotting.cubic_hermite(t, cubic(t), 6 * t**2 - 2 * t + 0.5, at)
    np.testing.assert_allclose(value, cubic(at), atol=1e-12)
    np.testing.assert_allclose(slope, 6 * at**2 - 2 * at + 0.5, atol=1e-11)


def test_hermite_from_sparse_saves_is_closer_to_the_dense_truth_than_segments():
    system = to.AttentionSystem(np.array([0.0, 0.7, 1.5]), 1.0, 1.0, 0.4)
    dense = to.simulate(system, np.array([0.6, 0.3, 0.1]), 30.0, saves=1201, rtol=1e-12, atol=1e-14)
    t, rho, rho_dot = (np.asarray(a) for a in (dense.ts, dense.rho, dense.rho_dot))
    sparse = slice(None, None, 20)  # 61 saves, about 10 per oscillation period
    value, slope = plotting.cubic_hermite(t[sparse], rho[sparse], rho_dot[sparse], t)
    segments = lambda y: np.stack([np.interp(t, t[sparse], column) for column in y[sparse].T], -1)
    for curve, truth in ((value, rho), (slope, rho_dot)):
        assert np.abs(curve - truth).max() < 0.1 * np.abs(segments(truth) - truth).max()


def test_phase_portrait_from_a_store_is_a_hermite_curve_through_the_saves(three_axes_run):
    raw = open_results(three_axes_run, grid=False)
    s = plotting.series_from_results(raw, 0)
    np.testing.assert_array_equal(s.rho_dot, raw["rho_dot"].isel(point=0, query=0).values)  # stored, not differenced
    ax = plotting.plot_phase_portrait([s]).axes[0]
    (curve,) = [line for line in ax.get_lines() if line.get_label() == s.label]
    (saves,) = [line for line in ax.get_lines() if line.get_linestyle() == "None" and len(line.get_xdata()) > 1]
    curve, saves = np.stack(curve.get_data(), -1), np.stack(saves.get_data(), -1)
    assert len(curve) > 4 * len(saves)
    gap = np.linalg.norm(saves[:, None] - curve[None], axis=-1).min(1)
    assert gap.max() < 1e-12  # the curve goes through every save
