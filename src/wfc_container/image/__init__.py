"""Build the conformance probe image offline and load it into a container runtime."""

from __future__ import annotations

from .._meta import PROBE_IMAGE_REFERENCE
from ._build import ImageBuildResult, build_probe_image
from ._errors import (
    CompileError,
    CompilerNotFoundError,
    ImageLoadError,
    ImageOptionError,
    ImageStepTimeoutError,
    ImageWriteError,
    ProbeSourceNotFoundError,
    RuntimeToolNotFoundError,
    StaticLibcMissingError,
)
from ._load import load_probe_image

__all__ = (
    "PROBE_IMAGE_REFERENCE",
    "CompileError",
    "CompilerNotFoundError",
    "ImageBuildResult",
    "ImageLoadError",
    "ImageOptionError",
    "ImageStepTimeoutError",
    "ImageWriteError",
    "ProbeSourceNotFoundError",
    "RuntimeToolNotFoundError",
    "StaticLibcMissingError",
    "build_probe_image",
    "load_probe_image",
)
