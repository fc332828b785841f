"""`python -m concerns.app.cli`: the `concerns` command without its console script."""

import sys

from concerns.app.cli import main

sys.exit(main())
