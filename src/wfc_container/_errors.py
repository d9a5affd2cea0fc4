"""Exception hierarchy: one root, a family base per area, a leaf per failure kind."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence


class WfcError(Exception):
    """
    Root of every error this package raises on purpose.

    ``hint`` is optional advice for a person; the CLI prints it on its own line.
    """

    hint: str | None = None

    def __init__(self, *, hint: str | None = None) -> None:
        super().__init__()
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        return self.render()

    def render(self) -> str:
        """Build the one-line message from the error's attributes."""
        return type(self).__name__


class DocumentError(WfcError, ValueError):
    """
    A JSON document (report, catalog, evidence, manifest) is malformed or invalid.

    ``problems`` contains one ``message @ $.path`` line per fault, all reported at once.
    """

    def __init__(
        self, *, document: str, problems: Sequence[str], hint: str | None = None
    ) -> None:
        super().__init__(hint=hint)
        self.document = document
        self.problems = tuple(problems)

    def render(self) -> str:
        return f"invalid {self.document}: " + "; ".join(self.problems)


class ProbeError(WfcError):
    """Family base for errors raised while configuring or running probes."""


class ProbeConfigError(ProbeError, ValueError):
    """A probe setting (backend name, image, timeout, argv value) is not acceptable."""

    def __init__(
        self, *, field: str, value: object, expected: str, hint: str | None = None
    ) -> None:
        super().__init__(hint=hint)
        self.field = field
        self.value = value
        self.expected = expected

    def render(self) -> str:
        return f"invalid {self.field} {self.value!r}: expected {self.expected}"


class ProbeTimeoutError(ProbeError, TimeoutError):
    """A probe step did not finish within its timeout."""

    def __init__(self, *, step: str, timeout: float, argv: Sequence[str] = ()) -> None:
        super().__init__()
        self.step = step
        self.timeout = timeout
        self.argv = tuple(argv)

    def render(self) -> str:
        return f"timed out in {self.step} step after {self.timeout:g} s"


class CommandStartError(ProbeError, OSError):
    """A runtime command could not be started (missing file, permission, format)."""

    def __init__(self, *, argv: Sequence[str], reason: str) -> None:
        super().__init__()
        self.argv = tuple(argv)
        self.reason = reason

    def render(self) -> str:
        return f"cannot start {self.argv[0]!r}: {self.reason}"


class BundleError(WfcError):
    """Family base for managed runtime bundle errors (catalog, download, install)."""


class ImageError(WfcError):
    """Family base for conformance probe image build and load errors."""


class SandboxError(WfcError):
    """Family base for sandbox adapter errors (invocation building and execution)."""
