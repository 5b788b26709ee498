"""A run's report: one self-contained HTML page (no network, no other file) with the run's
identity, its state and verdict, every figure of `thermo-ode plot` and a table of its points
that sorts and filters. It reads the run through the store's functions (`thermo_ode.sweeps`),
and its figures are `thermo_ode.plotting.plot_run`'s. One job per module:

    contents   what the page says: identity, state (from the store's check), verdict
    figures    the PNGs of the run folder, drawn where missing or stale, each with its caption
    rows       the table of points: failed first, capped at `rows.LIMIT` rows
    assets     the page's inline style and script (sorting, filtering)
    page       the HTML, and `write_report`
"""

from .page import write_report

__all__ = ["write_report"]
