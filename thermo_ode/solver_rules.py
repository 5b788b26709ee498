"""Which solver does what, by name: the rules `simulate` and the config layer both apply.

Kept free of jax so that `thermo-ode validate` can ask it without importing jax;
`thermo_ode.solvers` maps the same names to diffrax solvers (a test checks they agree).
"""

from __future__ import annotations

ADAPTIVE = ("tsit5", "dopri5", "dopri8", "bosh3", "heun", "kvaerno3", "kvaerno5")
FIXED_STEP = ("rattle", "gbaoab", "euler")  # no error estimate: they need dt
NAMES = ADAPTIVE + FIXED_STEP
NOISE = ("gbaoab", "euler")  # integrate Langevin noise
SPHERE_SPLITTING = ("rattle", "gbaoab")  # sphere chart and m > 0 only

# A step that resolves the motion: in natural time, 1/omega0 = sqrt(m/T) (m > 0; about 1/126
# of the oscillation period) or the gradient flow's relaxation time gamma/T (m = 0).
SUGGESTED_NATURAL_DT = {True: 0.05, False: 0.01}  # keyed by second order (m > 0)


def default_solver(noisy: bool, second_order: bool) -> str:
    """The solver used when none is named: adaptive `tsit5`; with a heat bath, `gbaoab`
    (m > 0) or `euler` (m = 0), the ones that integrate noise."""
    if not noisy:
        return "tsit5"
    return "gbaoab" if second_order else "euler"


def dt_hint(second_order: bool) -> str:
    """How to write a step that works, for messages that ask for `dt`."""
    natural = SUGGESTED_NATURAL_DT[second_order]
    unit = "sqrt(m/T)" if second_order else "gamma/T"
    return f"for example dt: {{natural: {natural}}} ({natural} x {unit})"
