"""The rules `simulate` and the config layer both apply, stated once: which solver does what
(by name), the start's normalisation tolerance, the mixed-mass rule, MiniLM's shape.

Kept free of jax so that `thermo-ode validate` can ask it without importing jax;
`thermo_ode.solvers` maps the same names to diffrax solvers (a test checks they agree).
"""

from __future__ import annotations

import numpy as np

# rho0 must sum to 1 within this, and velocity0 to 0 within this times its size.
NORMALISATION_TOL = 1e-6

# all-MiniLM-L6-v2 (thermo_ode.sources): 6 layers of 12 heads of dimension 32.
MINILM_LAYERS, MINILM_HEADS, MINILM_HEAD_DIM = 6, 12, 32

MIXED_MASS = "mixes mass 0 (first-order gradient flow) with mass > 0"


def mixes_massless(masses) -> bool:
    """A batch or sweep is first order (all m = 0) or second order (all m > 0), never both."""
    massless = np.asarray(masses) == 0
    return bool(massless.any() and not massless.all())


# Step counters are 32-bit integers in the solvers: a larger max_steps would overflow them.
MAX_STEPS = 2**31 - 1

# Seeds: numpy's generators take any integer >= 0, jax's keys 32 bits, and swept seeds pass
# through float64 (exact to 2^53): one range for all of them.
MAX_D_K = 2**16  # key dimension of random heads (real ones: 32 to 256)
MAX_SEED = 2**32 - 1

# Tolerances a precision can resolve: rtol below a few rounding units makes the error estimate
# rounding noise (the step controller rejects forever); atol below the smallest normal number
# is not a number the precision holds. Defaults (rtol, atol) per precision.
EPSILON = {"float64": 2.0**-52, "float32": 2.0**-23}
TINY = {"float64": 2.0**-1022, "float32": 2.0**-126}
HUGE = {"float64": 1.7976931348623157e308, "float32": 3.4028234663852886e38}
MIN_RTOL_EPSILONS = 4
DEFAULT_TOLERANCES = {"float64": (1e-8, 1e-10), "float32": (1e-6, 1e-8)}


def precision_of(dtype) -> str:
    """ "float64" for a float64 dtype, else "float32" (the precisions a run can have)."""
    return "float64" if np.dtype(dtype) == np.float64 else "float32"


def resolved_tolerances(rtol, atol, precision: str) -> tuple[float, float]:
    """`rtol`/`atol`, None meaning the precision's default; a ValueError naming the one below
    what the precision resolves (traced values are not checked)."""
    default_rtol, default_atol = DEFAULT_TOLERANCES[precision]
    rtol, atol = default_rtol if rtol is None else rtol, default_atol if atol is None else atol
    if isinstance(rtol, (int, float)) and isinstance(atol, (int, float)):
        found = tolerance_problem(rtol, atol, precision)
        if found:
            raise ValueError(f"{found[0]}: {found[1]}")
    return rtol, atol


def tolerance_problem(rtol: float, atol: float, precision: str) -> tuple[str, str] | None:
    """`(name, what is wrong)` when `rtol`/`atol` are below what `precision` resolves."""
    low = MIN_RTOL_EPSILONS * EPSILON[precision]
    if rtol < low:
        return (
            "rtol",
            f"{rtol:g} is below what {precision} resolves (at least {low:.3g}, {MIN_RTOL_EPSILONS} rounding units)",
        )
    if atol < TINY[precision]:
        return "atol", f"{atol:g} is below the smallest normal {precision} number ({TINY[precision]:.3g})"
    return None


ADAPTIVE = ("tsit5", "dopri5", "dopri8", "bosh3", "heun", "kvaerno3", "kvaerno5")
# The same explicit methods with their stages unrolled (thermo_ode.fused): one fused kernel a step.
FUSED_NAMES = ("fused_tsit5", "fused_dopri5", "fused_dopri8", "fused_bosh3", "fused_heun")
FIXED_STEP = ("rattle", "gbaoab", "euler")  # no error estimate: they need dt
NAMES = ADAPTIVE + FUSED_NAMES + FIXED_STEP
NOISE = ("gbaoab", "euler")  # integrate Langevin noise
SPHERE_SPLITTING = ("rattle", "gbaoab")  # sphere chart and m > 0 only


def integrator_problems(
    *,
    splitting: bool,
    noise_capable: bool,
    fixed_step_solver: bool,
    sphere_chart: bool,
    second_order: bool,
    noisy: bool,
    dt_given: bool,
) -> list[tuple[str, str]]:
    """The solver, chart, mass, noise and step choices that cannot go together, as `(setting,
    problem)` pairs in the order they are reported: the setting to change ("solver", "chart",
    "mass" or "dt") and the problem, one of "splitting_chart" and "splitting_mass" (RATTLE and
    g-BAOAB work in the sphere chart at m > 0 only), "noise_chart" and "noise_solver" (Langevin
    noise lives in the sphere chart and needs a solver in `NOISE`), "noise_dt" and "solver_dt"
    (noise, or a solver without an error estimate, needs a fixed step). The library and the
    sweep's config check put each in their own words (an argument, a config key)."""
    checks = (
        (splitting and not sphere_chart, "chart", "splitting_chart"),
        (splitting and not second_order, "mass", "splitting_mass"),
        (noisy and not sphere_chart, "chart", "noise_chart"),
        (noisy and not noise_capable, "solver", "noise_solver"),
        (not dt_given and noisy, "dt", "noise_dt"),
        (not dt_given and not noisy and fixed_step_solver, "dt", "solver_dt"),
    )
    return [(setting, problem) for broken, setting, problem in checks if broken]


# Slots per device of the refill engine (thermo_ode.refill): about sqrt(POOL_SCALE x systems
# per device). A loop iteration costs c0 + c1 x pool and the pool drains at the end with slots
# idle, so the time ~ n s c0 / pool + s c1 pool (n systems of s steps) is least at pool =
# sqrt(n c0 / c1). Keyed by "the backend is a CPU": 2 measured on a 2-core CPU (2 devices,
# 128 to 2048 systems of 32 tokens per device: pools 32, 32, 64 best); 1024 measured on one
# NVIDIA H200 (10^5 and 10^6 systems of 64 tokens, float64: pools 8192 and 32768 best,
# benchmarks/results/gpu-h200/), where an iteration's fixed cost is that of about 1000 slots.
POOL_SCALE = {True: 2, False: 1024}

# The vmapped engine's cost groups: (systems per group, most groups), keyed by "the backend is
# a CPU". A group runs as long as its slowest member, so more groups waste fewer steps but
# launch more programs. (32, 32) measured best on a 2-core CPU (the benchmark workload); on one
# NVIDIA H200, 32 groups of 10^5 systems of 64 tokens took 15.2 s where one vmap took 9.6 s
# (benchmarks/results/gpu-h200/run1-groups.json): there a single group, the launch being the cost.
GROUPING = {True: (32, 32), False: (1, 1)}

# A step that resolves the motion: in natural time, 1/omega0 = sqrt(m/T) (m > 0; about 1/126
# of the oscillation period) or the gradient flow's relaxation time gamma/T (m = 0).
SUGGESTED_NATURAL_DT = {True: 0.05, False: 0.01}  # keyed by second order (m > 0)


def default_solver(noisy: bool, second_order: bool) -> str:
    """The solver used when none is named: adaptive `fused_tsit5` (Tsit5, stages unrolled);
    with a heat bath, `gbaoab` (m > 0) or `euler` (m = 0), the ones that integrate noise."""
    if not noisy:
        return "fused_tsit5"
    return "gbaoab" if second_order else "euler"


def natural_dt(second_order: bool) -> str:
    """The suggested step in physical terms, e.g. `0.05 x sqrt(m/T)`."""
    return f"{SUGGESTED_NATURAL_DT[second_order]} x " + ("sqrt(m/T)" if second_order else "gamma/T")


def dt_hint(second_order: bool) -> str:
    """How to write a step that works, for messages that ask for `dt` in a config."""
    return f"for example dt: {{natural: {SUGGESTED_NATURAL_DT[second_order]}}} ({natural_dt(second_order)})"


# `Trajectory.status` codes (and the store's `status`): the index of the solve's diffrax result in this list.
STATUS_NAMES = (
    "successful",
    "max_steps_reached",
    "singular",
    "breakdown",
    "stagnation",
    "conlim",
    "nonfinite_input",
    "nonlinear_max_steps_reached",
    "nonlinear_divergence",
    "nonfinite",
    "dt_min_reached",
    "event_occurred",
    "max_steps_rejected",
    "internal_error",
    "reached_cap",  # thermo-ode's own: an `until` solve that did not stop by t1
)
# With `until` (thermo_ode.stopping): stopped at equilibrium is diffrax's event, and a solve that
# ran to t1 without stopping reached the cap. Both solved, as is a plain solve's success.
STOPPED = STATUS_NAMES.index("event_occurred")
REACHED_CAP = STATUS_NAMES.index("reached_cap")
SOLVED = (0, STOPPED, REACHED_CAP)
