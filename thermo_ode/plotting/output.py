"""What every figure shares: its colours, its axis labels for time, a new figure or the caller's
axes, and writing it to files (`save`)."""

from __future__ import annotations

import os
import pathlib

import matplotlib.pyplot as plt
import numpy as np
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
