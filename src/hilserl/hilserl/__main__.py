"""``python -m hilserl`` is the ``hilserl`` command (its console script, as installed)."""

import sys

from hilserl.launching.executables import hilserl

sys.exit(hilserl())
