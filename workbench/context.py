"""Moved to :mod:`workbench.tracking.context`; this name stays for existing imports.

The old name is the same module object (not a copy), so its state and patches are shared.
"""

import sys

from .tracking import context as _moved

sys.modules[__name__] = _moved
