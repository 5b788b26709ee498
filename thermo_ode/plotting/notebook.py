"""Notebooks kept as jupytext scripts: `notebook_show` displays figures inline in a notebook and,
run as a plain script, saves them (the script's own `--out` option says where)."""

from __future__ import annotations

import argparse
import pathlib
import sys
import typing
from collections.abc import Callable

from matplotlib.figure import Figure

from .output import save


def notebook_show(namespace: dict[str, typing.Any]) -> Callable[[Figure, str], None]:
    """`show(fig, name)` for a notebook kept as a jupytext script, given its `globals()`.

    In a notebook (an IPython kernel) figures display inline and `show` does nothing. Run as a
    plain script (`python notebooks/NAME.py [--out DIR]`), `show` saves each figure as
    `DIR/name.png` (default `notebooks/figures/NAME/`) and prints the path.

    Examples:
        Anywhere but a script run as `__main__`, `show` does nothing:

        >>> from thermo_ode import plotting
        >>> show = plotting.notebook_show({"__name__": "notebook"})
        >>> show(plotting.plot_heat_capacity({"two levels": [0.0, 1.0]}), "heat_capacity") is None
        True
    """
    if namespace.get("__name__") != "__main__" or "ipykernel" in sys.modules:
        return lambda fig, name: None
    here = pathlib.Path(namespace["__file__"])
    parser = argparse.ArgumentParser(description=f"Run the {here.stem} notebook as a script and save its figures.")
    parser.add_argument(
        "--out",
        type=pathlib.Path,
        default=here.parent / "figures" / here.stem,
        help="folder for the figures (default: %(default)s)",
    )
    out = parser.parse_args().out

    def show(fig: Figure, name: str) -> None:
        print("wrote", save(fig, out / name)[0])

    return show
