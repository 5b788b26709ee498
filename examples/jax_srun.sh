#!/bin/bash
# A thermo-ode sweep as one jax.distributed job under SLURM: one process per node, each on all
# of its node's devices; JAX finds the coordinator and its process index from SLURM itself.
#   sbatch examples/jax_srun.sh CONFIG OUT     (OUT on a file system every node sees)
# A node that dies ends the job (JAX's health check); submitting it again resumes the sweep.
#SBATCH --job-name=thermo-ode
#SBATCH --nodes=4
#SBATCH --ntasks-per-node=1
#SBATCH --time=04:00:00
set -euo pipefail
srun thermo-ode run "$1" --out "$2" --distributed
