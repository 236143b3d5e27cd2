"""``python -m hilserl`` is the ``hilserl`` command."""

import sys

from hilserl.cli import main

sys.exit(main())
