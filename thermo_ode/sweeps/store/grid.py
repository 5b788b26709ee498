"""The grid view of a store: the flat `point` dimension replaced by one dimension per swept key,
read lazily through xarray's backend-array protocol (the one xarray's own backends use)."""

from __future__ import annotations

import numpy as np
import xarray as xr
from xarray.backends import BackendArray
from xarray.core import indexing

from .info import decoded, sweep_keys


def grid_view(raw):
    """The flat-`point` dataset reshaped to one dimension per swept key, in config order, after
    `save`, each key's values ascending. `save` comes first because xarray's `plot.line(x="t")`
    draws one line per value of the second dimension: after selecting all but one axis, that is
    the remaining axis. Nothing is read but the axes: each selection reads only the points it
    names (a store of 10^8 points opens as fast as a small one)."""
    keys = sweep_keys(raw.attrs)
    ds = raw.drop_vars([name for name in ("chunk_checksum", "chunk_done") if name in raw.variables])
    if len(keys) == 1:
        return ds.swap_dims(point=keys[0]).transpose("save", *keys, ...)
    if not keys:
        return ds.transpose("save", ...)
    shape = tuple(decoded(raw.attrs["grid_shape"]))
    strides = np.cumprod((1,) + shape[:0:-1])[::-1]  # C order
    axes, orders = {}, []
    for key, size, stride in zip(keys, shape, strides):
        values = raw[key].variable.isel(point=np.arange(size) * stride).values
        order = np.argsort(values, kind="stable")
        axes[key], orders = values[order], orders + [order]
    variables = {}
    for name, variable in ds.variables.items():
        if "point" not in variable.dims or name in keys:
            if name not in keys:
                variables[name] = variable
            continue
        lazy = indexing.LazilyIndexedArray(_GridArray(variable, shape, orders))
        variables[name] = xr.Variable(tuple(keys) + variable.dims[1:], lazy, variable.attrs, variable.encoding)
    coords = [name for name in ds.coords if name in variables] + keys
    grid = xr.Dataset({name: v for name, v in variables.items()}, attrs=ds.attrs).assign_coords(
        {key: (key, values, raw[key].attrs) for key, values in axes.items()}
    )
    return grid.set_coords([c for c in coords if c in grid.variables]).transpose("save", *keys, ...)


class _GridArray(BackendArray):
    """A flat-`point` variable seen with the sweep's axes in place of `point` (each axis in the
    order `orders` gives), for xarray's lazy indexing: a selection on the grid becomes one read
    of the flat points it names."""

    def __init__(self, variable, shape: tuple[int, ...], orders: list[np.ndarray]):
        self.variable, self.grid, self.orders = variable, shape, orders
        self.shape = shape + variable.shape[1:]
        self.dtype = variable.dtype

    def __getitem__(self, key):
        return indexing.explicit_indexing_adapter(key, self.shape, indexing.IndexingSupport.OUTER, self._outer)

    def _outer(self, key: tuple):
        g = len(self.grid)
        picks = [order[k] for order, k in zip(self.orders, key[:g])]  # grid positions in config order
        points = np.ravel_multi_index(np.ix_(*[np.atleast_1d(p) for p in picks]), self.grid)
        unique, inverse = np.unique(points, return_inverse=True)
        rest = {
            dim: k for dim, k in zip(self.variable.dims[1:], key[g:]) if not (isinstance(k, slice) and k == slice(None))
        }
        # A run of consecutive points (a whole grid, a row of the last axis) is read as a slice.
        span = slice(int(unique[0]), int(unique[-1]) + 1) if unique[-1] - unique[0] + 1 == unique.size else unique
        values = np.asarray(self.variable.isel(point=span, **rest).values)
        values = values[inverse.reshape(-1)].reshape(points.shape + values.shape[1:])
        return values[tuple(0 if np.ndim(p) == 0 else slice(None) for p in picks)]
