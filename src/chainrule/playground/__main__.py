"""`python -m chainrule.playground [--host H] [--port P] [--no-browser]`."""

import sys

from chainrule.playground.cli import main

sys.exit(main())
