"""Explicit Runge–Kutta steps with their stages unrolled, so XLA fuses a whole step.

diffrax's Runge–Kutta `step` runs its stages in an inner (checkpointed) while loop, which keeps
XLA from fusing across stages: a vmapped step becomes many small kernels over stage buffers.
These solvers take the same Butcher tableaus, error estimates and dense interpolations as
diffrax's (`FusedTsit5` is `diffrax.Tsit5`'s method, and so on) but write the stages out in
Python, one expression per stage, so the compiled step is straight-line code. They are
diffrax `AbstractAdaptiveSolver`s: they work in `diffeqsolve`, in `thermo_ode.solve` and in
`simulate` (`solver=FusedTsit5()`, or the names `fused_tsit5`, ...).

For ordinary differential equations only (one vector-field term); diffrax's own solvers serve
the rest.
"""

from __future__ import annotations

from typing import ClassVar

import diffrax
import jax
import jax.numpy as jnp


def _combination(weights, values, dtype):
    """`sum_j w_j v_j` over the non-zero weights, leaf by leaf (None when all are zero)."""
    terms = [(w, v) for w, v in zip(weights, values) if w != 0]
    if not terms:
        return None
    return jax.tree.map(
        lambda *leaves: sum(jnp.asarray(w, dtype) * leaf for (w, _), leaf in zip(terms, leaves)), *[v for _, v in terms]
    )


class AbstractFusedRungeKutta(diffrax.AbstractAdaptiveSolver):
    """An explicit Runge–Kutta method of `tableau`, stages unrolled. Subclasses set `method`,
    the diffrax solver whose tableau, interpolation and order they share."""

    method: ClassVar[type[diffrax.AbstractERK]]
    term_structure: ClassVar = diffrax.AbstractTerm

    @property
    def tableau(self):
        return self.method.tableau

    @property
    def interpolation_cls(self):  # pyright: ignore
        return self.method.interpolation_cls

    def order(self, terms):
        return self.method().order(terms)

    def init(self, terms, t0, t1, y0, args):
        # First same as last: the state is the vector field at the start of the next step.
        return terms.vf(t0, y0, args) if self.tableau.fsal else None

    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        tableau = self.tableau
        dtype = jnp.result_type(*jax.tree.leaves(y0))
        control = terms.contr(t0, t1)
        if not tableau.fsal:
            f0 = terms.vf(t0, y0, args)
        elif made_jump is False:
            f0 = solver_state
        else:  # after a jump the stored first stage is stale
            f0 = jax.lax.cond(made_jump, lambda: terms.vf(t0, y0, args), lambda: solver_state)
        fs = [f0]
        yi = y0
        for c_i, a_i in zip(tableau.c, tableau.a_lower):
            increment = _combination(a_i, fs, dtype)
            yi = y0 if increment is None else jax.tree.map(lambda y, inc: y + inc, y0, terms.prod(increment, control))
            fs.append(terms.vf(t0 + c_i * (t1 - t0), yi, args))
        ks = [terms.prod(f, control) for f in fs]
        if tableau.ssal:
            y1 = yi
        else:
            y1 = jax.tree.map(lambda y, inc: y + inc, y0, _combination(tableau.b_sol, ks, dtype))
        y_error = _combination(tableau.b_error, ks, dtype)
        if y_error is None:
            y_error = jax.tree.map(jnp.zeros_like, y0)
        dense_info = dict(y0=y0, y1=y1, k=jax.tree.map(lambda *leaves: jnp.stack(leaves), *ks))
        return y1, y_error, dense_info, (fs[-1] if tableau.fsal else None), diffrax.RESULTS.successful

    def func(self, terms, t0, y0, args):
        return terms.vf(t0, y0, args)


class FusedTsit5(AbstractFusedRungeKutta):
    """Tsitouras' 5(4) method (diffrax.Tsit5), stages unrolled."""

    method: ClassVar = diffrax.Tsit5


class FusedDopri5(AbstractFusedRungeKutta):
    """Dormand–Prince 5(4) (diffrax.Dopri5), stages unrolled."""

    method: ClassVar = diffrax.Dopri5


class FusedDopri8(AbstractFusedRungeKutta):
    """Dormand–Prince 8(7) (diffrax.Dopri8), stages unrolled."""

    method: ClassVar = diffrax.Dopri8


class FusedBosh3(AbstractFusedRungeKutta):
    """Bogacki–Shampine 3(2) (diffrax.Bosh3), stages unrolled."""

    method: ClassVar = diffrax.Bosh3


class FusedHeun(AbstractFusedRungeKutta):
    """Heun's 2(1) method (diffrax.Heun), stages unrolled."""

    method: ClassVar = diffrax.Heun


FUSED_SOLVERS = {
    "fused_tsit5": FusedTsit5,
    "fused_dopri5": FusedDopri5,
    "fused_dopri8": FusedDopri8,
    "fused_bosh3": FusedBosh3,
    "fused_heun": FusedHeun,
}
