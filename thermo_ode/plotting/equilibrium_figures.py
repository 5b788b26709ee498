"""Figures of equilibrium: the heat capacity of energy spectra (of a stored run: its distinct
ones), and the stationary density of N = 2 in a heat bath against a histogram of sampled
states."""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .. import physics
from .analysis import attention_system, heat_capacity_curve, run_spectra, spectrum_key, stationary_density_n2
from .output import colors, figure, labelled

if typing.TYPE_CHECKING:
    import xarray as xr


def plot_heat_capacity(
    spectra: Mapping[str, npt.ArrayLike],
    temperatures: npt.ArrayLike | None = None,
    ax: Axes | None = None,
    note: str = "",
) -> Figure:
    """The heat capacity `C(T)` of one or several energy spectra (by label), each with its peak marked.

    `C(T)` depends only on the spectrum (up to a common shift and the tokens' order): spectra
    that are the same are drawn once, under their labels joined by " = ". `temperatures`
    default to 400 points spanning the spread of each spectrum, /200 to x20. `note` is added to
    the title (what was left out, say).

    Examples:
        >>> from thermo_ode import plotting
        >>> fig = plotting.plot_heat_capacity({"two levels": [0.0, 1.0], "shifted": [2.0, 3.0]})
        >>> [text.get_text() for text in fig.axes[0].get_legend().get_texts()]  # one curve
        ['two levels = shifted: peak C=0.439 at T=0.419']
    """
    fig, ax = figure(ax)
    distinct: dict[tuple[float, ...], list[str]] = {}
    for label, values in spectra.items():
        distinct.setdefault(spectrum_key(values), []).append(label)
    for color, labels in zip(colors(len(distinct)), distinct.values()):
        energies = np.asarray(spectra[labels[0]], float)
        spread = np.ptp(energies) if np.ptp(energies) > 0 else 1.0
        T = np.asarray(temperatures) if temperatures is not None else np.geomspace(spread / 200, spread * 20, 400)
        C = heat_capacity_curve(energies, T)
        peak = int(np.argmax(C))
        name = " = ".join(labels)
        ax.semilogx(T, C, color=color, lw=1.5, label=f"{name}: peak C={C[peak]:.3g} at T={T[peak]:.3g}")
        ax.plot(T[peak], C[peak], "v", color=color, ms=7)
    return labelled(
        ax,
        7,
        xlabel="temperature T (units of E)",
        ylabel="heat capacity C = Var(E)/T^2 (dimensionless)",
        title="Heat capacity of the attention spectrum (triangle: peak)" + (f"\n{note}" if note else ""),
    )


def plot_run_heat_capacity(raw: xr.Dataset, limit: int = 6) -> Figure:
    """`C(T)` of a stored run's distinct spectra (`run_spectra`): one curve per head, labelled
    by what tells the heads apart (the seed, ...), never one per grid point.

    `raw` is `open_results(DIR, grid=False)`; at most `limit` curves, the title says how many
    were left out.

    Examples:
        >>> from thermo_ode import sweeps
        >>> from thermo_ode.plotting.equilibrium_figures import plot_run_heat_capacity
        >>> fig = plot_run_heat_capacity(sweeps.open_results(sweeps.demo_run(), grid=False))
        >>> [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
        ['energies of all 2 points: peak C=0.637 at T=0.53']
    """
    spectra, note = run_spectra(raw, limit)
    return plot_heat_capacity(spectra, note=note)


def plot_stationary_density(
    samples: Sequence[float] | np.ndarray,
    energies: npt.ArrayLike,
    temperature: float,
    bath_temperature: float,
    ax: Axes | None = None,
    bins: int = 40,
) -> Figure:
    """A histogram of sampled `rho_1` (N = 2) against the predicted stationary density.

    Drawn with the density the flat measure on the simplex would give instead (what the
    sphere's metric adds).

    Examples:
        >>> import numpy as np
        >>> from thermo_ode import plotting
        >>> samples = np.random.default_rng(0).beta(8, 3, size=500)  # stand-ins for a run's rho_1
        >>> fig = plotting.plot_stationary_density(samples, [0.0, 1.0], temperature=1.0, bath_temperature=0.1)
        >>> fig.axes[0].get_title()
        'Stationary density, N = 2, T = 1, T_b = 0.1'
    """
    fig, ax = figure(ax, (6.8, 4.2))
    palette = colors(3)
    heights, _, _ = ax.hist(
        samples,
        bins=bins,
        range=(0, 1),
        density=True,
        color=palette[1],
        alpha=0.5,
        label=f"sampled ({len(samples)} states)",
    )
    r, density = stationary_density_n2(energies, temperature, bath_temperature)
    ax.plot(r, density, color=palette[0], lw=2, label="prod rho^(-1/2) exp(-F/T_b)")
    flat = density * np.sqrt(r * (1 - r))
    ax.plot(r, flat / (flat.sum() * (r[1] - r[0])), color="0.4", ls="--", lw=1.2, label="exp(-F/T_b) (flat measure)")
    star = np.asarray(physics.equilibrium(attention_system(energies, temperature)))
    ax.axvline(star[0], color="0.3", ls=":", label="softmax rho*_1")
    # The density is integrable but infinite at the faces: scale to the histogram.
    return labelled(
        ax,
        8,
        xlabel="rho_1",
        ylabel="probability density",
        ylim=(0, 1.5 * np.max(heights)),
        title=f"Stationary density, N = 2, T = {temperature:g}, T_b = {bath_temperature:g}",
    )
