"""What every figure shares: its colours, its axis labels for time and for stored variables, log
axes' tick labels that do not overlap, a new figure or the caller's axes, and writing it to files
(`save`)."""

from __future__ import annotations

import os
import pathlib

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import ticker
from matplotlib.figure import Figure

SEQUENTIAL = "viridis"
PHYSICAL_TIME = "physical time t (time unit of the inputs)"
NATURAL_TIME = "natural time tau = t sqrt(T/m) (dimensionless)"


def colors(n):
    """`n` colours of the sequential colour map, light end left out (it vanishes on white)."""
    return plt.get_cmap(SEQUENTIAL)(np.linspace(0.0, 0.85, max(n, 1)))


def figure(ax, size=(6.4, 4.2)):
    """`(figure, axes)`: the caller's `ax` and its figure, or a new figure of `size` inches."""
    if ax is None:
        fig, ax = plt.subplots(figsize=size, layout="constrained")
        return fig, ax
    return ax.figure, ax


def labelled(ax, legend_size: float, **labels) -> Figure:
    """Set the axes' labels and title (`ax.set(**labels)`), draw its legend, return its figure."""
    ax.set(**labels)
    ax.legend(fontsize=legend_size)
    return ax.figure


def stored_label(variable, name: str | None = None) -> str:
    """An axis label for a stored variable or coordinate: `name` (default its CF `long_name`)
    and its CF `units` in brackets, left out when dimensionless ("1") or not recorded.

    These are the variable's own CF attributes, which the store writes for every reader
    (`thermo_ode/sweeps/store/layout.py`, ATTRIBUTES), not the run's attributes.
    """
    cf = variable.attrs
    text = name or str(cf.get("long_name", variable.name))
    units = str(cf.get("units", "1"))
    return text if units == "1" else f"{text} ({units})"


def log_ticks(axis, values, min_gap: float = 0.12) -> None:
    """Label a log `axis` (after its limits are set) at `values` only, as plain numbers to 3
    digits, leaving out each value closer than `min_gap` of the axis' span (in decades) to the
    last one kept, and no minor tick labels (matplotlib's "3x10^-1", "4x10^-1" collide on
    short spans)."""
    low, high = axis.axes.get_xlim() if axis.axis_name == "x" else axis.axes.get_ylim()
    low, high = sorted((low, high))
    span = np.log10(high / low) if low > 0 else 1.0
    candidates = np.unique(np.asarray(values, float))
    kept: list[float] = []
    for v in candidates[(candidates >= low) & (candidates <= high)]:
        if not kept or np.log10(v / kept[-1]) >= min_gap * span:
            kept.append(float(v))
    axis.set_major_locator(ticker.FixedLocator(kept))
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:.3g}"))
    axis.set_minor_formatter(ticker.NullFormatter())


def nice_values(low: float, high: float) -> np.ndarray:
    """Round candidate ticks from `low` to `high` (positive): 1, 2 and 5 times the powers of ten,
    or every digit times them where those give fewer than two, or three values to three digits."""
    decades = 10.0 ** np.arange(np.floor(np.log10(low)), np.ceil(np.log10(high)) + 1)
    for steps in ([1.0, 2.0, 5.0], np.arange(1.0, 10.0)):
        values = (decades[:, None] * np.asarray(steps)).ravel()
        values = values[(values >= low) & (values <= high)]
        if values.size >= 2:
            return values
    return np.array([float(f"{v:.3g}") for v in np.geomspace(low, high, 5)[1:-1]])


def save(fig: Figure, path: str | os.PathLike[str], svg: bool = False) -> list[str]:
    """Write a figure as PNG (and SVG on request) at `path` (suffix replaced), close it, return the files.

    Missing folders are made.

    Examples:
        >>> import pathlib, tempfile
        >>> from thermo_ode import plotting
        >>> fig = plotting.plot_heat_capacity({"two levels": [0.0, 1.0]})
        >>> written = plotting.save(fig, pathlib.Path(tempfile.mkdtemp()) / "figures" / "heat_capacity", svg=True)
        >>> [pathlib.Path(name).name for name in written]
        ['heat_capacity.png', 'heat_capacity.svg']
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = [str(path.with_suffix(".png"))]
    fig.savefig(written[0], dpi=130)
    if svg:
        written.append(str(path.with_suffix(".svg")))
        fig.savefig(written[1])
    plt.close(fig)
    return written
