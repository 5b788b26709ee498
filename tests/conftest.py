"""Tests run in float64: the accuracy targets (1e-8 and below) are float64 targets.

The library itself never flips this flag; the float32 test runs in a subprocess.
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
