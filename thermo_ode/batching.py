"""How `simulate` lays a batch out: the order and groups systems run in, the pool size, the
device mesh, and gathering the results back into the caller's order (all on the host)."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from . import rules
from .integration import clock_rate
from .programs import MESH_AXIS
from .system import AttentionSystem

ENGINES = ("auto", "refill", "vmap")


def rows(tree, index):
    """Rows `index` of every array leaf of a flat `tree`, on the default device. Gathered
    through the host, so no program is compiled for the gather and none spans devices: XLA
    aborts a collective that waits over 40 s for a device still stepping, and on CPU devices
    finish far apart."""
    return jax.tree.map(lambda a: _host_rows(a, index) if eqx.is_array(a) else a, tree)


def _host_rows(a, index):
    if jnp.issubdtype(a.dtype, jax.dtypes.prng_key):  # typed keys have no NumPy form: gather their data
        return jax.random.wrap_key_data(_host_rows(jax.random.key_data(a), index), impl=jax.random.key_impl(a))
    return jnp.asarray(np.asarray(a)[index])


# The fewest systems a device runs side by side. XLA compiles a batch axis of length 1 away,
# which moves kernel boundaries and so the places where a * b + c contracts into one fused
# multiply-add: measured, a pool of 1 changed the last bits of most saved values (90 systems)
# against pools of 2 to 90, which all agree. Queues and groups are padded to it.
MIN_WIDTH = 2


def group_count(groups, nb: int) -> int:
    """The number of cost groups for `nb` systems: `groups`, or by default the backend's
    `rules.GROUPING` (group size and most groups)."""
    if groups == "auto":
        size, most = rules.GROUPING[jax.default_backend() == "cpu"]
        return int(min(most, max(1, nb // size)))
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"groups must be 'auto' or an int >= 1, got {groups!r}")
    return int(min(groups, max(nb, 1)))


def cost_groups(cost, groups="auto", devices: int = 1) -> np.ndarray:
    """The groups `simulate` solves a batch in: flat system indices `(groups, size)`, sorted by
    `cost` (for example `predicted_cost`) so that each group's members take similar numbers of
    steps; the last group is padded by repeating the costliest system, and `size` is a
    multiple of `devices`, at least `MIN_WIDTH` rows on each. Each group runs as long as its
    slowest member."""
    cost = np.asarray(cost).reshape(-1)
    order = np.argsort(cost, kind="stable")
    n_groups = group_count(groups, cost.size)
    size = max(-(-cost.size // (n_groups * devices)), MIN_WIDTH) * devices
    return np.concatenate([order, np.full(n_groups * size - cost.size, order[-1])]).reshape(n_groups, size)


def refill_queues(cost, devices: int = 1) -> np.ndarray:
    """The queues of the refill engine: flat system indices `(devices, per_device)`. Longest
    (by `cost`) first, so that short systems fill the pool as it drains; dealt round-robin so
    every device's queue has a similar total cost; padded by repeating the cheapest system, to
    at least `MIN_WIDTH` per device."""
    order = np.argsort(-np.asarray(cost).reshape(-1), kind="stable")
    per_device = max(-(-order.size // devices), MIN_WIDTH)
    padded = np.concatenate([order, np.full(per_device * devices - order.size, order[-1])])
    return padded.reshape(-1, devices).T


def predicted_cost(system: AttentionSystem, t1, time: str = "natural") -> np.ndarray:
    """A rank proxy for each system's step count: its end time in solver time, times the spread
    of E/T, which sets the amplitude and stiffness of the motion (measured rank correlation with
    the steps taken: 0.99 on the benchmark workload)."""
    second_order = not bool(np.all(np.asarray(system.mass) == 0))
    T = np.asarray(system.temperature, float)
    mask = np.asarray(system.mask)
    beta = np.where(mask, np.asarray(system.energies, float) / T[..., None], 0)
    count = mask.sum(-1)
    spread = np.sqrt(np.maximum((beta**2).sum(-1) / count - (beta.sum(-1) / count) ** 2, 0))
    rate = np.asarray(clock_rate(system, second_order, time), float)
    return np.asarray(t1, float) * rate * (1 + spread)


def suggested_dt(system: AttentionSystem, second_order: bool) -> float:
    """A fixed step that resolves the fastest system's motion (in physical time)."""
    rate = np.asarray(clock_rate(system, second_order, "natural"), float)
    return rules.SUGGESTED_NATURAL_DT[second_order] / rate.max()


def pool_size(pool, shard: int) -> int:
    """Slots per device for `shard` systems per device: `pool`, or by default about
    `sqrt(rules.POOL_SCALE x shard)` for the backend; at most `shard`, at least `MIN_WIDTH`."""
    if pool is None:
        pool = round(math.sqrt(rules.POOL_SCALE[jax.default_backend() == "cpu"] * shard))
    return int(max(MIN_WIDTH, min(pool, shard)))


def device_mesh(devices):
    """A 1-D mesh over the first `devices` local devices (default all), or None for one."""
    available = jax.local_devices()
    if devices is None:
        devices = len(available)
    if isinstance(devices, bool) or not isinstance(devices, (int, np.integer)):
        raise TypeError(f"devices must be an int, got {type(devices).__name__}")
    if not 1 <= devices <= len(available):
        raise ValueError(f"devices must be between 1 and the {len(available)} local devices, got {devices}")
    if devices == 1:
        return None
    # Auto axes: jax.make_mesh's default Explicit axes fail inside diffrax's loop.
    return jax.sharding.Mesh(np.array(available[:devices]), (MESH_AXIS,), axis_types=(jax.sharding.AxisType.Auto,))
