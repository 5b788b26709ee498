"""The command line's exit codes: 0 success, 1 a run that could not finish, 2 a bad config
or argument (argparse's own code for bad usage); a signal ends a command with 128 + its
number (130 for SIGINT, 143 for SIGTERM; thermo_ode.cli.app)."""

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
