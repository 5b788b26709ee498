"""Every figure renders headless (MPLBACKEND=Agg, set in conftest) to a non-blank file, and says
what it plots: time axes match their data, a collapse is drawn only where it holds."""

import itertools
import pathlib
import re
import textwrap

import numpy as np
import pytest
from helpers import crossing_times
from PIL import Image

import thermo_ode as to
from thermo_ode import physics, plotting
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


def _numbers(text):
    """Every number written in a piece of text."""
    return [float(x) for x in re.findall(r"[-+]?\d+(?:\.\d*)?(?:e[-+]?\d+)?", text)]


def _excess(s):
    """H(0) - F*: the energy a run has to conserve or dissipate (docs/physics.md, section 6; section 7)."""
    f_star = float(physics.equilibrium_free_energy(to.AttentionSystem(s.energies, s.temperature)))
    return s.hamiltonian[0] - f_star


def test_conservative_energy_figure_reports_drift_on_the_energy_scale(tmp_path):
    """Undamped: the conservation error is small and says its scale, H(0) - F*."""
    system = to.AttentionSystem(np.array([0.0, 1.0, 2.0]), 1.0, 1.0, 0.0)
    s = plotting.series_from_trajectory(to.simulate(system, np.array([0.6, 0.3, 0.1]), 30.0, rtol=1e-12, atol=1e-14))
    title = plotting.plot_energy(s).axes[0].get_title()
    assert "conserved" in title and "max |H - H(0)| = " in title and "of H(0) - F* = " in title, title
    (error_text,) = re.findall(r"max \|H - H\(0\)\| = (\S+) of", title)
    error = np.abs(s.hamiltonian - s.hamiltonian[0]).max() / _excess(s)
    assert float(error_text) == pytest.approx(error, rel=0.06) and error < 1e-8
    assert f"= {_excess(s):.3g}" in title
    _not_blank(plotting.save(plotting.plot_energy(s), tmp_path / "energy")[0])


def test_damped_energy_figure_shows_dissipation_not_a_relative_error():
    """Damped from rest with H(0) = 0 (energies shifted so that F(uniform) = 0): dividing by
    |H(0)| made "1.2e+02" and worse; the title gives H - F* at the start and the end."""
    energies = np.array([0.0, 1.0, 2.0]) + np.log(3) - 1.0  # <E> - T ln 3 = 0 at rho = 1/3
    system = to.AttentionSystem(energies, 1.0, 1.0, 1.0)
    s = plotting.series_from_trajectory(to.simulate(system, np.full(3, 1 / 3), 30.0, saves=200))
    assert abs(s.hamiltonian[0]) < 1e-12
    title = plotting.plot_energy(s).axes[0].get_title()
    assert "dissipated" in title and "|H(0)|" not in title, title
    assert f"H - F* from {_excess(s):.3g} to " in title, title
    assert max(_numbers(title)) <= 1, title  # no relative error divided by a near-zero H(0)
    assert np.all(np.diff(s.hamiltonian) <= 0) and "H never rises between saves" in title


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


def test_convergence_map_draws_every_other_axis_or_names_its_median(three_axes_run, seed_run):
    """Against zeta, one line per (T, m): nothing pooled. Over a T x m map, the seed axis is
    pooled by its median, and the title says so."""
    fig = plotting.plot_convergence_map(open_results(three_axes_run))
    assert not any("median" in text for text in _texts(fig)), _texts(fig)
    labels = {line.get_label() for line in fig.axes[1].get_lines() if line.get_label().startswith("T = ")}
    assert labels == {f"T = {T:g}, m = {m:g}" for T in (1.5, 3.0) for m in (0.5, 2.0)}
    fig = plotting.plot_convergence_map(open_results(seed_run))
    assert any("median over seed (2 values)" in text for text in _texts(fig)), _texts(fig)


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


@pytest.fixture(scope="module")
def zeta_by_temperature_run(tmp_path_factory):
    """Damping ratio x temperature, float64 and 150 saves: enough for a measured relaxation time."""
    return _run(
        tmp_path_factory.mktemp("zeta-by-temperature"),
        """\
    name: zeta-by-temperature
    precision: float64
    system:
      tokens: 4
      energies: {kind: gaussian, scale: 1.0, seed: 0}
    sweep:
      damping_ratio: [0.3, 1.0, 3.0]
      temperature: [0.5, 2.0]
    integrate: {t1: {relaxation_times: 30}, saves: 150}
    """,
    )


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory):
    """Temperature x mass x seed: two heads (seeds), each at four grid points."""
    return _run(
        tmp_path_factory.mktemp("seeds"),
        """\
    name: seeds
    precision: float64
    system:
      tokens: 3
      energies: {kind: gaussian, scale: 1.0}
      damping_ratio: 0.5
    sweep:
      temperature: [0.5, 2.0]
      mass: [0.5, 2.0]
      seed: [0, 1]
    integrate: {t1: {relaxation_times: 20}, saves: 41}
    """,
    )


def test_convergence_map_compares_measured_with_predicted_relaxation_time(zeta_by_temperature_run):
    """Like with like: the measured relaxation time 1/rate over the predicted one is about 1
    (not the time to tolerance, ~14 relaxation times), one line per temperature."""
    ds = open_results(zeta_by_temperature_run)
    fig = plotting.plot_convergence_map(ds)
    left, right = fig.axes[:2]
    assert not any("median" in text for text in _texts(fig)), _texts(fig)
    assert left.get_ylabel() == "relaxation time 1/rate (time unit)"
    assert "tolerance" not in " ".join(_texts(fig))
    measured = ds["relaxation_time"].isel(query=0)
    ratio = measured / ds["predicted_relaxation_time"]
    for ax, field in ((left, measured), (right, ratio)):
        lines = {line.get_label(): line for line in ax.get_lines() if line.get_label().startswith("T = ")}
        assert set(lines) == {"T = 0.5", "T = 2"}
        for T in (0.5, 2.0):
            zeta, values = lines[f"T = {T:g}"].get_data()
            np.testing.assert_array_equal(zeta, [0.3, 1.0, 3.0])
            np.testing.assert_allclose(values, field.sel(temperature=T).values, rtol=1e-12)
    for T in (0.5, 2.0):
        zeta, values = [line for line in right.get_lines() if line.get_label() == f"T = {T:g}"][0].get_data()
        # At zeta = 1 the slowest mode is (a + b t) exp(-omega0 t): its log slope is slower by
        # b / (a + b t), and the measure runs 10-50% long (docs/physics.md, section 9).
        critical = zeta == 1.0
        assert np.all(np.abs(values[~critical] - 1) < 0.05), values
        assert np.all((values[critical] > 1) & (values[critical] < 1.5)), values


def _overlapping_tick_labels(fig):
    """Pairs of visible tick labels, on one axis of one axes (colour bars too), whose drawn boxes intersect."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    found = []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            boxes = [
                (label.get_text(), label.get_window_extent(renderer))
                for label in axis.get_ticklabels(which="both")
                if label.get_visible() and label.get_text()
            ]
            found += [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2) if box_a.overlaps(box_b)]
    return found


def test_convergence_map_tick_labels_do_not_overlap(zeta_by_temperature_run, seed_run, three_axes_run):
    for run in (zeta_by_temperature_run, seed_run, three_axes_run):
        fig = plotting.plot_convergence_map(open_results(run))
        assert not _overlapping_tick_labels(fig), (run, _overlapping_tick_labels(fig))
        labels = [t.get_text() for ax in fig.axes for t in ax.get_xticklabels() + ax.get_yticklabels()]
        assert not any("times" in label or "^" in label for label in labels), labels  # plain numbers


def test_convergence_map_says_when_no_relaxation_time_was_measured(seed_run):
    """The demo's 5 float32 saves cannot tell a rate: the panels say so, on either layout."""
    from thermo_ode import sweeps

    grid = open_results(seed_run)
    figures = [
        plotting.plot_convergence_map(sweeps.open_results(sweeps.demo_run())),
        plotting.plot_convergence_map(grid.assign(relaxation_time=grid["relaxation_time"] * np.nan)),
    ]
    for fig in figures:
        for ax in fig.axes[:2]:
            assert any("no point has a measured relaxation time" in t.get_text() for t in ax.texts), _texts(fig)
    assert len(figures[1].axes) == 2  # no empty colour bar


def test_heat_capacity_of_a_run_draws_each_head_once_labelled_by_seed(seed_run):
    """Eight points, two seeds: two curves, named by seed, each the C(T) of that seed's energies."""
    from thermo_ode.plotting.equilibrium_figures import plot_run_heat_capacity

    raw = open_results(seed_run, grid=False)
    ax = plot_run_heat_capacity(raw).axes[0]
    curves = [line for line in ax.get_lines() if len(line.get_xdata()) > 1]
    assert len(curves) == 2
    for line, seed in zip(curves, (0, 1)):
        assert line.get_label().startswith(f"seed {seed}: peak C="), line.get_label()
        point = int(np.flatnonzero(raw["seed"].values == seed)[0])
        energies = raw["energies"].isel(point=point, query=0).values
        np.testing.assert_allclose(line.get_ydata(), plotting.heat_capacity_curve(energies, line.get_xdata()))


def test_heat_capacity_draws_a_repeated_spectrum_once():
    """C(T) does not change with a common shift or the tokens' order: one curve, both names."""
    energies = np.random.default_rng(2).normal(size=6)
    fig = plotting.plot_heat_capacity({"point 0": energies, "point 9": energies[::-1] + 3.0})
    curves = [line for line in fig.axes[0].get_lines() if len(line.get_xdata()) > 1]
    assert [line.get_label().split(":")[0] for line in curves] == ["point 0 = point 9"]


def test_trajectory_says_which_tokens_it_shows_and_its_legend_covers_no_curve():
    energies = np.random.default_rng(0).normal(size=16)
    system = to.AttentionSystem(energies, 1.0, 1.0, 0.6)
    s = plotting.series_from_trajectory(to.simulate(system, np.full(16, 1 / 16), 30.0, saves=101))
    fig = plotting.plot_trajectory(s)
    ax = fig.axes[0]
    curves = [line for line in ax.get_lines() if len(line.get_xdata()) > 2]
    largest = np.argsort(-s.equilibrium)[:12]
    assert sorted(line.get_label() for line in curves) == sorted(f"token {i}" for i in largest)
    assert "12 of 16 tokens" in ax.get_title()
    assert "12 of 16 tokens shown:\nthe largest softmax weights" in ax.get_legend().get_title().get_text()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend, axes_box = ax.get_legend().get_window_extent(renderer), ax.get_window_extent(renderer)
    assert legend.x0 >= axes_box.x1  # outside the axes, right of them: over no drawn line
    assert fig.get_window_extent(renderer).contains(legend.x1 - 1, legend.y0 + 1)  # and on the figure
