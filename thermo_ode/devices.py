"""Every CPU core at work: one XLA CPU device per core.

XLA runs a program on one CPU device with little parallelism across cores; `simulate` splits a
batch over the local devices (`jax.shard_map`), so on a CPU the cores work together only when
JAX makes one CPU device per core. That is decided once, before JAX runs its first operation:
the CLI does it at start-up, and a library user calls `use_all_cores()` right after
`import thermo_ode`:

    import thermo_ode as to
    to.use_all_cores()          # before any jax operation
"""

from __future__ import annotations

import os
import warnings

_HOST_FLAG = "--xla_force_host_platform_device_count"


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS reports one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def use_all_cores(count: int | None = None) -> int:
    """Ask JAX for one CPU device per available core (or `count`) and return the number it will have.

    Must run before JAX's first operation; called later it changes nothing and warns. An
    `XLA_FLAGS` setting of the host device count, or an earlier
    `jax.config.update("jax_num_cpu_devices", n)`, is the user's choice and is kept.

    Examples:
        >>> import thermo_ode as to
        >>> count = to.use_all_cores()  # right after the import, before any jax operation
        >>> import jax
        >>> len(jax.devices("cpu")) == count
        True
    """
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ValueError(f"count must be an int >= 1, got {count!r}")
    import jax

    for part in os.environ.get("XLA_FLAGS", "").split():
        if part.startswith(_HOST_FLAG + "="):
            return int(part.split("=", 1)[1])
    # jax < 0.12 types no option as an attribute of jax.config (they are set at run time).
    if jax.config.jax_num_cpu_devices > 0:  # type: ignore[attr-defined, unused-ignore]
        return jax.config.jax_num_cpu_devices  # type: ignore[attr-defined, unused-ignore]
    count = available_cores() if count is None else count
    try:
        jax.config.update("jax_num_cpu_devices", count)
    except RuntimeError:  # JAX has started: its device count is fixed for this process
        current = len(jax.devices("cpu"))
        warnings.warn(
            f"use_all_cores: JAX has already started with {current} CPU device(s); call it right after importing "
            "thermo_ode, before any jax operation, or set XLA_FLAGS=--xla_force_host_platform_device_count=N",
            stacklevel=2,
        )
        return current
    return count


_ISA_FLAG = "--xla_cpu_max_isa"
# 256-bit vectors without fused multiply-adds. XLA:CPU contracts a * b + c into one FMA in
# some lanes of a vector loop and not in others, so with FMA a system's last bits depend on
# where its batch puts it (measured: pools of 4, 8 and 90 differ from pools of 2, 3 and 5 in
# most saved values, 7 tokens); without, on its values alone, on any x86-64 CPU with AVX.
EXACT_ISA = "AVX"


def use_exact_cpu_code() -> bool:
    """Ask XLA:CPU for code without fused multiply-adds, for results that do not depend on the batch.

    With `--xla_cpu_max_isa=AVX` a system's results do not depend on its batch, pool, devices
    or the x86-64 CPU it runs on (docs/guarantees.md), at a cost docs/benchmarks.md measures.
    Returns whether it is in force.

    Must run before JAX's first operation, like `use_all_cores` (the CLI calls both); called
    later it changes nothing and warns. An ISA set in `XLA_FLAGS` is the user's choice and is
    kept (in force only if it is AVX); on other CPUs than x86-64 it does nothing.

    Examples:
        >>> import os
        >>> import thermo_ode as to
        >>> exact = to.use_exact_cpu_code()  # right after the import, before any jax operation
        >>> exact == ("--xla_cpu_max_isa=AVX" in os.environ.get("XLA_FLAGS", "").split())
        True
    """
    import platform

    flags = os.environ.get("XLA_FLAGS", "").split()
    chosen = [part.split("=", 1)[1] for part in flags if part.startswith(_ISA_FLAG + "=")]
    if chosen:
        return chosen[-1].upper() == EXACT_ISA
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    from jax._src import xla_bridge  # no public way to ask whether the backends have started

    if getattr(xla_bridge, "backends_are_initialized", lambda: False)():
        warnings.warn(
            "use_exact_cpu_code: JAX has already started; call it right after importing thermo_ode, or set "
            f"XLA_FLAGS={_ISA_FLAG}={EXACT_ISA}",
            stacklevel=2,
        )
        return False
    os.environ["XLA_FLAGS"] = " ".join(flags + [f"{_ISA_FLAG}={EXACT_ISA}"])
    return True
