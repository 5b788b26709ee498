"""`python -m thermo_ode.cli`: the `thermo-ode` command."""

import sys

from . import main

sys.exit(main())
