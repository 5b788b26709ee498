"""The sweep grid's own rules, checked before the rules over its points: each axis's values
(present, finite, integers where counted, in range, distinct), and whether the grid's and a
chunk's arrays fit this machine's memory. Each problem is `(key path, message)`, located and
formatted by `loading`."""

from __future__ import annotations

import math

import numpy as np

from ... import rules
from . import limits
from .schema import Config
from .sweep_axes import INTEGER_KEYS

SWEEP_RULES = {
    # key: (lowest allowed, inclusive?)
    "temperature": (0.0, False),
    "mass": (0.0, True),
    "damping": (0.0, True),
    "damping_ratio": (0.0, True),
    "tokens": (1, True),
    "d_k": (1, True),
    "scale": (0.0, False),
    "alpha": (0.0, False),
    "bath_temperature": (0.0, True),
    "layer": (0, True),
    "head": (0, True),
}
SWEEP_RULES.update({key: (0, True) for key in ("seed", "initial_seed", "noise_seed")})
SWEEP_CEILINGS = {
    "layer": (rules.MINILM_LAYERS - 1, f"MiniLM has {rules.MINILM_LAYERS} layers"),
    "head": (rules.MINILM_HEADS - 1, f"MiniLM has {rules.MINILM_HEADS} heads"),
    **{key: (rules.MAX_SEED, "seeds are 32-bit") for key in ("seed", "initial_seed", "noise_seed")},
    "d_k": (rules.MAX_D_K, "each point draws its q and k vectors in memory"),
}


def size_problems(cfg: Config) -> list[tuple[tuple, str]]:
    """A grid whose per-point arrays cannot fit this machine's memory, found from the axes'
    lengths, before any axis is built."""
    lengths = cfg.sweep.lengths()
    if not lengths:
        return []
    points = math.prod(lengths.values())
    need, available = limits.POINT_ARRAYS * 8 * points * (1 + len(lengths)), limits.available_memory()
    if need <= available:
        return []
    widest = max(lengths, key=lengths.__getitem__)
    shape = " x ".join(f"{key}[{n:,}]" for key, n in lengths.items())
    return [
        (
            ("sweep", widest),
            f"the grid has {points:,} points ({shape}); its per-point arrays alone need "
            f"{limits.human(need)}, more than the {limits.human(available)} of memory available here",
        )
    ]


def memory_problems(cfg: Config, sizes: limits.Sizes) -> list[tuple[tuple, str]]:
    """A chunk or the grid's per-point arrays that cannot fit this machine's memory."""
    available = limits.available_memory()
    problems: list[tuple[tuple, str]] = []
    if sizes.chunk_memory > available:
        loc = ("integrate", "chunk_size") if cfg.integrate.chunk_size > 1 else ("system", "tokens")
        problems.append(
            (
                loc,
                f"a chunk of {min(cfg.integrate.chunk_size, sizes.points)} points needs about "
                f"{limits.human(sizes.chunk_memory)} of memory, more than the {limits.human(available)} available here "
                "(lower integrate.chunk_size, integrate.saves or the tokens)",
            )
        )
    if sizes.point_memory > available:
        problems.append(
            (
                ("sweep",),
                f"the grid's per-point arrays need {limits.human(sizes.point_memory)}, more than the "
                f"{limits.human(available)} of memory available here",
            )
        )
    return problems


def axis_problems(cfg: Config) -> list[tuple[tuple, str]]:
    """Each sweep axis's own values: present, finite, integers where counted, in range,
    distinct. Cheap, and what the sizes and the rules over the grid need first."""
    problems: list[tuple[tuple, str]] = []
    for key, values in cfg.sweep.axes().items():
        if values.size == 0:
            problems.append((("sweep", key), "empty sweep axis: give at least one value"))
            continue
        if not np.all(np.isfinite(values)):
            problems.append((("sweep", key), "values must be finite"))
            continue
        if key in INTEGER_KEYS and not np.all(values == np.round(values)):
            problems.append((("sweep", key), "values must be integers"))
        if key in SWEEP_RULES:
            low, inclusive = SWEEP_RULES[key]
            bad = values < low if inclusive else values <= low
            if bad.any():
                problems.append(
                    (("sweep", key), f"values must be {'>=' if inclusive else '>'} {low:g}, got {values[bad][0]:g}")
                )
        if key in SWEEP_CEILINGS and (values > SWEEP_CEILINGS[key][0]).any():
            ceiling, why = SWEEP_CEILINGS[key]
            problems.append((("sweep", key), f"values must be <= {ceiling} ({why})"))
        # Generated axes are monotonic: neighbours tell (np.unique of 10^7 values takes seconds).
        repeats = (
            len(np.unique(values)) != len(values)
            if isinstance(getattr(cfg.sweep, key), list)
            else (np.diff(values) == 0).any()
        )
        if repeats:
            problems.append((("sweep", key), "values must be distinct (they label a grid dimension)"))
    return problems
