"""`thermo-ode` command line. Imports jax only inside commands so that `--help` is instant."""

from __future__ import annotations

import argparse
import sys

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="thermo-ode",
        description="Attention as a Lagrangian system on the Fisher-Rao hypersphere: relax it to softmax.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="relax the built-in example (a random causal attention head) and print the verdict",
        description=(
            "Relax every query row of a random causal attention head (q, k ~ N(0, 1), T = sqrt(d_k)) "
            "at three masses with one damping ratio, and check that each ends at softmax."
        ),
    )
    run.add_argument("--tokens", type=_positive_int, default=16, help="context length N (default 16)")
    run.add_argument("--d-k", type=_positive_int, default=64, help="head dimension d_k (default 64)")
    run.add_argument("--seed", type=int, default=0, help="seed for q and k (default 0)")
    run.add_argument("--damping-ratio", type=_positive_float, default=0.5, help="zeta (default 0.5)")
    run.add_argument("--tolerance", type=_positive_float, default=1e-6, help="Fisher-Rao distance counted as converged (default 1e-6)")
    run.add_argument("--precision", choices=("float64", "float32"), default="float64", help="floating point precision (default float64)")
    sub.add_parser("version", help="print the version")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code or 0)
    if args.command == "version":
        from . import __version__

        print(__version__)
        return EXIT_OK
    return _run_example(args)


def _run_example(args) -> int:
    import jax

    # The CLI, not the library, chooses precision (set before any array is created).
    jax.config.update("jax_enable_x64", args.precision == "float64")
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    import thermo_ode as to
    from thermo_ode.examples import random_qk

    console = Console()
    q, k = random_qk(args.tokens, args.d_k, seed=args.seed)
    masses = np.array([0.1, 1.0, 10.0])
    T = np.sqrt(args.d_k)
    damping = 2 * args.damping_ratio * np.sqrt(masses * T)
    # Batch (mass, query row): 3 x N systems, one compiled solve.
    system = to.AttentionSystem.from_qk(
        np.broadcast_to(q, (3,) + q.shape), np.broadcast_to(k, (3,) + k.shape),
        mask=to.causal_mask(args.tokens), mass=masses[:, None], damping=damping[:, None],
    )
    theory = to.linear_theory(system)
    t1 = 30.0 * np.asarray(theory.relaxation_time)  # e^-30 ~ 1e-13 of the initial distance
    mask = np.asarray(system.mask)
    rho0 = mask / mask.sum(-1, keepdims=True)
    rtol, atol = (1e-8, 1e-10) if args.precision == "float64" else (1e-5, 1e-7)
    with console.status("integrating..."):
        traj = to.simulate(system, rho0, t1, saves=61, rtol=rtol, atol=atol)
    final = np.asarray(traj.final_distance)
    ok = np.asarray(traj.succeeded) & (final < args.tolerance)
    table = Table(title=f"random causal head: N={args.tokens}, d_k={args.d_k}, T=sqrt(d_k)={T:.3g}, zeta={args.damping_ratio}, {args.precision}")
    error = np.abs(np.asarray(traj.rho[..., -1, :]) - np.asarray(traj.equilibrium)).max(-1)
    for col in ("mass", "rows", "converged", "relaxation time", "steps (max)", "worst final distance", "max |rho - softmax|"):
        table.add_column(col, justify="right")
    for i, m in enumerate(masses):
        table.add_row(
            f"{m:g}", str(args.tokens), str(int(ok[i].sum())), f"{float(theory.relaxation_time[i, 0]):.3g}",
            str(int(np.asarray(traj.num_steps[i]).max())), f"{final[i].max():.2e}", f"{error[i].max():.2e}",
        )
    console.print(table)
    if ok.all():
        console.print(f"[bold green]verdict:[/] all {ok.size} trajectories relaxed to softmax(q.k/sqrt(d_k)) within Fisher-Rao distance {args.tolerance:g}")
        return EXIT_OK
    console.print(f"[bold red]verdict:[/] {int((~ok).sum())} of {ok.size} trajectories did not reach softmax within {args.tolerance:g}")
    return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
