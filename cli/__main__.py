"""`python -m cli ARGS`: the `debate` command."""

import sys

from cli import main

sys.exit(main())
