"""A thermo-ode sweep on a SLURM cluster through Dask (dask-jobqueue), from a login node:

    pip install 'thermo-ode[dask]'
    python examples/dask_slurm.py CONFIG OUT --jobs 16          # OUT on a shared file system
    python examples/dask_slurm.py CONFIG OUT --print-job-script  # what each job would run

Each SLURM job runs Dask workers of one thread, each computing one chunk at a time: one worker
per core on CPU nodes (a worker process sees one CPU device), or one worker on the job's GPU
with --gpus 1. Workers that die or are preempted are replaced by the cluster and their chunks
rerun; if this script dies, run it again: the sweep resumes from the committed chunks.
Adapt the partition, account and sizes to your cluster.
"""

import argparse
import subprocess
import sys

from dask_jobqueue import SLURMCluster


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("out", help="the run's folder, on a file system every node sees")
    parser.add_argument("--jobs", type=int, default=4, help="SLURM jobs, one worker each")
    parser.add_argument("--cpus", type=int, default=16, help="CPU cores per job")
    parser.add_argument("--gpus", type=int, default=0, choices=(0, 1), help="1: one GPU per job, and one worker on it")
    parser.add_argument("--memory", default="32GB")
    parser.add_argument("--walltime", default="04:00:00")
    parser.add_argument("--print-job-script", action="store_true", help="print a job's script and stop")
    args = parser.parse_args()
    workers = 1 if args.gpus else args.cpus  # per job; each with one thread (cores / processes)
    cluster = SLURMCluster(
        cores=workers,
        processes=workers,
        job_cpu=args.cpus,
        memory=args.memory,
        walltime=args.walltime,
        job_extra_directives=[f"--gpus={args.gpus}"] if args.gpus else [],
    )
    try:
        if args.print_job_script:
            print(cluster.job_script())
            return 0
        cluster.scale(jobs=args.jobs)
        return subprocess.call(
            ["thermo-ode", "run", args.config, "--out", args.out, "--scheduler", cluster.scheduler_address]
        )
    finally:
        cluster.close()


if __name__ == "__main__":
    sys.exit(main())
