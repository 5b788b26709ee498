"""One chunk of a sweep: its systems simulated (one compiled program for every chunk), and the
per-point observables the store keeps measured on the trajectories (relaxation time, time
averages, convergence)."""

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
    relax = np.where(
        converged,
        relaxation_time(np.broadcast_to(t[:, None], distance.shape), distance, cfg.verify.tolerance),
        np.nan,
    )
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
        "relaxation_time": relax,
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


def relaxation_time(t: np.ndarray, distance: np.ndarray, tolerance: float) -> np.ndarray:
    """First saved time after which the distance stays below `tolerance` (NaN if it never does).

    `t (..., S)`, `distance (..., S)`; resolution is the save spacing.
    """
    above = ~(distance < tolerance)  # NaN counts as above
    last_above = np.where(above.any(-1), above.shape[-1] - 1 - np.argmax(above[..., ::-1], axis=-1), -1)
    settled = last_above + 1 < above.shape[-1]
    index = np.minimum(last_above + 1, above.shape[-1] - 1)
    return np.where(settled, np.take_along_axis(t, index[..., None], -1)[..., 0], np.nan)
