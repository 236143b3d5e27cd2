"""Make the package importable from a plain checkout and keep test caches out of the tree."""

import os
import sys
import tempfile

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if PACKAGE_ROOT not in sys.path:
    sys.path.insert(0, PACKAGE_ROOT)

try:
    from hypothesis.configuration import set_hypothesis_home_dir
except ImportError:  # hypothesis absent: the property test module skips itself
    pass
else:
    set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), 'hilserl_learning_hypothesis'))
