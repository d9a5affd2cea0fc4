"""Package version and the names derived from it."""

from __future__ import annotations

__version__ = "0.1.0"

PROBE_IMAGE_NAME = "localhost/wfcompute-probe"
PROBE_IMAGE_REFERENCE = f"{PROBE_IMAGE_NAME}:{__version__}"
