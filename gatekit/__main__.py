"""``python -m gatekit``: the same as the ``gatekit`` command."""

import sys

from gatekit.cli import main

sys.exit(main())
