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

ADAPTIVE = ("tsit5", "dopri5", "dopri8", "bosh3", "heun", "kvaerno3", "kvaerno5")
# The same explicit methods with their stages unrolled (thermo_ode.fused): one fused kernel a step.
FUSED = ("fused_tsit5", "fused_dopri5", "fused_dopri8", "fused_bosh3", "fused_heun")
FIXED_STEP = ("rattle", "gbaoab", "euler")  # no error estimate: they need dt
NAMES = ADAPTIVE + FUSED + FIXED_STEP
NOISE = ("gbaoab", "euler")  # integrate Langevin noise
SPHERE_SPLITTING = ("rattle", "gbaoab")  # sphere chart and m > 0 only

# Slots per device of the refill engine (thermo_ode.engine): about sqrt(POOL_SCALE x systems
# per device). A loop iteration costs c0 + c1 x pool and the pool drains at the end with slots
# idle, so the time ~ n s c0 / pool + s c1 pool (n systems of s steps) is least at pool =
# sqrt(n c0 / c1). Keyed by "the backend is a CPU": 2 measured on a 2-core CPU (2 devices,
# 128 to 2048 systems of 32 tokens per device: pools 32, 32, 64 best); on an accelerator an
# iteration's fixed cost (kernel launches) dwarfs a slot's, so nearly the whole batch is in
# flight (65536 is an estimate, not measured there: benchmarks/relaxation.py --pool).
POOL_SCALE = {True: 2, False: 65536}

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
