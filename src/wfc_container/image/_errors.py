"""Leaves of the ``ImageError`` family: probe image build and load failures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._errors import ImageError

if TYPE_CHECKING:
    from collections.abc import Sequence

_TOOLCHAIN_HINT = (
    "install a C compiler and the static C library, on Debian: "
    "apt-get install gcc libc6-dev"
)


class ProbeSourceNotFoundError(ImageError, FileNotFoundError):
    """The C source of the probe program is in none of the places it is looked up."""

    def __init__(self, *, paths: Sequence[str]) -> None:
        super().__init__(hint="reinstall wfc-container, which ships the source")
        self.paths = tuple(paths)

    def render(self) -> str:
        return f"probe program source not found: looked in {list(self.paths)!r}"


class CompilerNotFoundError(ImageError, FileNotFoundError):
    """The C compiler that builds the static probe program is not installed."""

    def __init__(self, *, compiler: str) -> None:
        super().__init__(hint=_TOOLCHAIN_HINT)
        self.compiler = compiler

    def render(self) -> str:
        return (
            f"C compiler {self.compiler!r} not found on PATH: required by image build"
        )


class StaticLibcMissingError(ImageError):
    """The compiler runs, but the static C library needed for ``-static`` is missing."""

    def __init__(self, *, compiler: str, output: str) -> None:
        super().__init__(hint=_TOOLCHAIN_HINT)
        self.compiler = compiler
        self.output = output

    def render(self) -> str:
        return (
            f"static C library not found by {self.compiler!r}: "
            f"expected libc.a for -static, compiler output {self.output!r}"
        )


class CompileError(ImageError):
    """The compiler failed on the probe program for another reason."""

    def __init__(self, *, compiler: str, exit_code: int, output: str) -> None:
        super().__init__()
        self.compiler = compiler
        self.exit_code = exit_code
        self.output = output

    def render(self) -> str:
        return (
            f"compiling the probe program with {self.compiler!r} failed: "
            f"expected exit code 0, got {self.exit_code} with output {self.output!r}"
        )


class ImageOptionError(ImageError, ValueError):
    """An image build or load option (backend, namespace) is not acceptable."""

    def __init__(self, *, field: str, value: object, expected: str) -> None:
        super().__init__()
        self.field = field
        self.value = value
        self.expected = expected

    def render(self) -> str:
        return f"invalid {self.field} {self.value!r}: expected {self.expected}"


class ImageWriteError(ImageError, OSError):
    """The image archive could not be written to its output path."""

    def __init__(self, *, path: str, reason: str) -> None:
        super().__init__()
        self.path = path
        self.reason = reason

    def render(self) -> str:
        return f"cannot write image archive {self.path!r}: {self.reason}"


class RuntimeToolNotFoundError(ImageError, FileNotFoundError):
    """The runtime command that loads the image is not installed."""

    def __init__(self, *, backend: str, tool: str) -> None:
        super().__init__(hint="run scripts/install-runtimes.sh as root to install it")
        self.backend = backend
        self.tool = tool

    def render(self) -> str:
        return f"{self.tool!r} not found on PATH: required to load into {self.backend}"


class ImageLoadError(ImageError):
    """The runtime rejected the archive, or the image is absent after the load."""

    def __init__(
        self, *, backend: str, reference: str, problem: str, hint: str | None = None
    ) -> None:
        super().__init__(hint=hint)
        self.backend = backend
        self.reference = reference
        self.problem = problem

    def render(self) -> str:
        return f"loading {self.reference!r} into {self.backend} failed: {self.problem}"


class ImageStepTimeoutError(ImageError, TimeoutError):
    """One step of an image build or load did not finish within its timeout."""

    def __init__(self, *, step: str, timeout: float) -> None:
        super().__init__()
        self.step = step
        self.timeout = timeout

    def render(self) -> str:
        return f"image {self.step} timed out after {self.timeout:g} s"
