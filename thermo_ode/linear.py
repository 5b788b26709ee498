"""Small oscillations about softmax (docs/physics.md, section 9).

Writing `rho = rho*(1 + eps)` with `sum rho* eps = 0`, every one of the N-1 modes obeys
`m eps'' + gamma eps' + T eps = 0`, whatever the energies. So the whole linear response is set
by two numbers per system: `omega0 = sqrt(T/m)` and `zeta = gamma / (2 sqrt(m T))`.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from .formulas import CRITICAL_RTOL, damping_ratio, decay_rate, natural_frequency
from .system import AttentionSystem

UNDERDAMPED, CRITICAL, OVERDAMPED, GRADIENT_FLOW = 0, 1, 2, 3
REGIME_NAMES = ("underdamped", "critical", "overdamped", "gradient flow (m = 0)")
"""The names of the regimes of the linear theory, indexed by `LinearTheory.regime`.

Examples:
    >>> import thermo_ode as to
    >>> to.REGIME_NAMES[0], to.REGIME_NAMES[3]
    ('underdamped', 'gradient flow (m = 0)')
"""


class LinearTheory(eqx.Module):
    """Predictions of the linearised dynamics, one per system of the batch.

    - `natural_frequency`: `omega0 = sqrt(T/m)` (inf when m = 0);
    - `damping_ratio`: `zeta = gamma / (2 sqrt(m T))` (inf when m = 0);
    - `regime`: index into `REGIME_NAMES`;
    - `oscillation_frequency`: `omega0 sqrt(1 - zeta^2)` when underdamped, else 0;
    - `decay_rate`: the rate at which the slowest mode's amplitude, hence the Fisher–Rao
      distance to softmax, decays: `gamma/(2m)` underdamped, `omega0` critical,
      `omega0 (zeta - sqrt(zeta^2 - 1))` overdamped, `T/gamma` for m = 0;
    - `relaxation_time`: `1 / decay_rate`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> system = to.AttentionSystem(jnp.zeros((3, 2)), 1.0, jnp.array([1.0, 1.0, 0.0]), jnp.array([0.5, 2.0, 1.0]))
        >>> theory = to.linear_theory(system)
        >>> [theory.regime_name(i) for i in range(3)]
        ['underdamped', 'critical', 'gradient flow (m = 0)']
        >>> theory.relaxation_time.round(3).tolist()  # 2m/gamma, 1/omega0, gamma/T
        [4.0, 1.0, 1.0]
    """

    natural_frequency: Float[Array, "*batch"]
    damping_ratio: Float[Array, "*batch"]
    regime: Int[Array, "*batch"]
    oscillation_frequency: Float[Array, "*batch"]
    decay_rate: Float[Array, "*batch"]

    @property
    def relaxation_time(self) -> jax.Array:
        """The predicted relaxation time `1 / decay_rate` (e-folding time of the distance)."""
        return 1.0 / self.decay_rate

    @property
    def period(self) -> jax.Array:
        """Oscillation period `2 pi / omega_d` (inf unless underdamped)."""
        return jnp.where(self.oscillation_frequency > 0, 2 * jnp.pi / self.oscillation_frequency, jnp.inf)

    def regime_name(self, index: int | tuple[int, ...] = ()) -> str:
        """The name in `REGIME_NAMES` of the regime of the system at batch `index`."""
        return REGIME_NAMES[int(self.regime[index])]


# Compiled as one program: eagerly, its ~30 array operations each compile a program of their own
# for every new batch shape (plots evaluate it for many single points).
@eqx.filter_jit
def linear_theory(system: AttentionSystem) -> LinearTheory:
    """The linear theory's predictions for every system of `system`'s batch.

    Small oscillations about softmax obey `m eps'' + gamma eps' + T eps = 0` whatever the
    energies, so the predictions depend on `T`, `m` and `gamma` only.

    Examples:
        Underdamped at `zeta = 0.25`, so the distance to softmax decays at `gamma / (2m)`:

        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> theory = to.linear_theory(to.AttentionSystem(jnp.array([0.0, 1.0]), 1.0, mass=1.0, damping=0.5))
        >>> theory.regime_name(), round(float(theory.damping_ratio), 3), round(float(theory.decay_rate), 3)
        ('underdamped', 0.25, 0.25)
        >>> round(float(theory.oscillation_frequency), 4)  # sqrt(1 - zeta^2)
        0.9682
    """
    T, m, gamma = system.temperature, system.mass, system.damping
    massless = m == 0
    safe_m = jnp.where(massless, 1, m)
    omega0 = jnp.where(massless, jnp.inf, natural_frequency(T, safe_m))
    zeta = jnp.where(massless, jnp.inf, damping_ratio(gamma, safe_m, T))
    critical = jnp.abs(zeta - 1) <= CRITICAL_RTOL
    regime = jnp.where(
        massless,
        GRADIENT_FLOW,
        jnp.where(critical, CRITICAL, jnp.where(zeta < 1, UNDERDAMPED, OVERDAMPED)),
    )
    finite_zeta = jnp.where(massless, 2.0, zeta)
    under = regime == UNDERDAMPED
    omega_d = jnp.where(under, omega0 * jnp.sqrt(jnp.clip(1 - finite_zeta**2, 0)), 0.0)
    rate = decay_rate(T, m, gamma, xp=jnp)
    return LinearTheory(omega0, zeta, regime.astype(jnp.int32), omega_d, rate)
