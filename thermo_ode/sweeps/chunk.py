"""One chunk of a sweep: its systems simulated (one compiled program for every chunk), and the
per-point observables the store keeps measured on the trajectories (the time to tolerance, the
relaxation time, time averages, convergence)."""

from __future__ import annotations

import numpy as np

from . import plan as planning
from .config.loaded_config import LoadedConfig
from .store import PARAMETERS


def compute_chunk(
    loaded: LoadedConfig, plan: planning.Plan, chunk: int, devices: int | None = None
) -> dict[str, np.ndarray]:
    """Simulate one chunk of the sweep on `devices` local devices (default all) and return the
    arrays the store keeps for it (`store.write_chunk` commits them). Pure in its inputs: the
    same chunk gives the same bytes on any number of devices, in any process."""
    from ..linear import linear_theory
    from ..observables import time_averages
    from ..simulation import simulate
    from ..system import AttentionSystem

    cfg = loaded.config
    integrate = cfg.integrate
    inputs = planning.chunk_inputs(loaded, plan, chunk)
    system = AttentionSystem(
        inputs.energies, inputs.temperature[:, None], inputs.mass[:, None], inputs.damping[:, None], mask=inputs.mask
    )
    theory = linear_theory(system[:, 0])  # parameters are per point, shared by its rows
    predicted = np.asarray(theory.relaxation_time)
    t1 = planning.end_times(cfg, theory)
    dt = planning.step_sizes(cfg, theory)
    burn_in = planning.burn_in_times(cfg, theory, t1)
    noisy = planning.is_thermal(loaded, plan)
    traj = simulate(
        system,
        inputs.rho0,
        t1[:, None],
        saves=plan.saves,
        chart=integrate.chart,
        solver=cfg.solver_name,
        dt=None if dt is None else dt[:, None],
        bath_temperature=inputs.bath_temperature[:, None],
        key=_point_keys(inputs, plan.queries) if noisy else None,
        rtol=cfg.tolerances[0],
        atol=cfg.tolerances[1],
        max_steps=integrate.max_steps,
        time=integrate.time,
        devices=devices,
    )
    averages = time_averages(traj, burn_in[:, None])
    t = np.asarray(traj.ts[:, 0])
    distance = np.asarray(traj.distance)
    status = np.asarray(traj.status)
    final = distance[..., -1]
    converged = (status == 0) & (final < cfg.verify.tolerance)
    ts = np.broadcast_to(t[:, None], distance.shape)
    to_tolerance = np.where(converged, time_to_tolerance(ts, distance, cfg.verify.tolerance), np.nan)
    # Below the tolerance the integration's own error can be what a distance shows.
    floor = max(cfg.verify.tolerance, ROUNDING_FLOOR * float(np.finfo(cfg.precision).eps))
    # A heat bath's distance fluctuates about a floor of its own: no decay rate to measure.
    cold = (inputs.bath_temperature == 0)[:, None]
    measured = np.where((status == 0) & cold, relaxation_time(ts, distance, floor), np.nan)
    parameters = dict(
        temperature=inputs.temperature,
        mass=inputs.mass,
        damping=inputs.damping,
        t1=t1,
        bath_temperature=inputs.bath_temperature,
        dt=np.full_like(t1, np.nan) if dt is None else dt,
        burn_in=burn_in,
    )
    return {
        "mean_kinetic_energy": np.asarray(averages.kinetic_energy, float),
        "mean_distance": np.asarray(averages.distance, float),
        "mean_rho": np.asarray(averages.rho, float),
        "rho_fluctuation": np.asarray(averages.rho_fluctuation, float),
        "rho": np.asarray(traj.rho, float),
        "rho_dot": np.asarray(traj.rho_dot, float),
        "distance": distance,
        "hamiltonian": np.asarray(traj.hamiltonian, float),
        "free_energy": np.asarray(traj.free_energy, float),
        "equilibrium": np.asarray(traj.equilibrium, float),
        "energies": inputs.energies,
        "mask": inputs.mask,
        "status": status.astype(np.int32),
        "num_steps": np.asarray(traj.num_steps).astype(np.int64),
        "final_distance": final,
        "converged": converged,
        "time_to_tolerance": to_tolerance,
        "relaxation_time": measured,
        "predicted_relaxation_time": predicted,
        "t": t,
        "parameters": np.stack([parameters[name] for name in PARAMETERS], axis=-1),
    }


def _point_keys(inputs, queries: int):
    """Noise keys `(C, Q)`: each point's from its noise seed and flat index (so a point's noise
    does not depend on the chunking), split over its query rows."""
    import jax

    def point_key(seed, index):
        return jax.random.split(jax.random.fold_in(jax.random.key(seed), index), queries)

    return jax.vmap(point_key)(np.asarray(inputs.noise_seed, np.uint32), np.asarray(inputs.index, np.uint32))


def time_to_tolerance(t: np.ndarray, distance: np.ndarray, tolerance: float) -> np.ndarray:
    """First saved time after which the distance stays below `tolerance` (NaN if it never does).

    `t (..., S)`, `distance (..., S)`; resolution is the save spacing. Not the relaxation time:
    it grows with `log(d(0) / tolerance)` relaxation times.
    """
    above = ~(distance < tolerance)  # NaN counts as above
    last_above = np.where(above.any(-1), above.shape[-1] - 1 - np.argmax(above[..., ::-1], axis=-1), -1)
    settled = last_above + 1 < above.shape[-1]
    index = np.minimum(last_above + 1, above.shape[-1] - 1)
    return np.where(settled, np.take_along_axis(t, index[..., None], -1)[..., 0], np.nan)


# Distances within this many units of rounding of 0 are rounding, not decay (the chord formula
# resolves a distance to about one unit of rounding: physics page, section 8).
ROUNDING_FLOOR = 1000
# The fit starts once the envelope has fallen to this fraction of its start: past the transient.
FIT_START = 0.1
MIN_FIT_SAVES = 3


def relaxation_time(t: np.ndarray, distance: np.ndarray, floor: float) -> np.ndarray:
    """The measured relaxation time `1 / rate` of `distance ~ exp(-rate t)` (NaN where the saves
    cannot tell): the slope of a least-squares line through `log` of the distance's envelope.

    The envelope at each save is the largest distance from it on (an underdamped distance
    touches 0 at every half period; its peaks decay at the rate), fitted over the saves after it
    has fallen to `FIT_START` of its start and while it stays above `floor` (rounding). Needs
    `MIN_FIT_SAVES` saves in that window and a decay. `t (..., S)`, `distance (..., S)`; what
    `linear_theory(...).relaxation_time` predicts.
    """
    d = np.where(np.isfinite(distance), distance, np.inf)
    envelope = np.flip(np.maximum.accumulate(np.flip(d, -1), -1), -1)
    window = (envelope <= FIT_START * envelope[..., :1]) & (envelope > floor) & np.isfinite(envelope)
    n = window.sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(window, np.log(np.where(window, envelope, 1.0)), 0.0)
        x = np.where(window, t, 0.0)
        mx, my = x.sum(-1) / n, y.sum(-1) / n
        dx = np.where(window, t - mx[..., None], 0.0)
        slope = (dx * (y - my[..., None])).sum(-1) / (dx * dx).sum(-1)
        return np.where((n >= MIN_FIT_SAVES) & (slope < 0), -1 / slope, np.nan)
