"""Leaves of the ``BundleError`` family: catalog, checksum, signature, transport."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from .._errors import BundleError

if TYPE_CHECKING:
    from collections.abc import Sequence


class CatalogPolicyError(BundleError, ValueError):
    """
    A catalog bundle cannot be used: missing, expired, blocked or badly pinned.

    ``problems`` contains every failed rule, in the order they were checked.
    """

    def __init__(
        self, *, bundle_id: str, problems: Sequence[str], hint: str | None = None
    ) -> None:
        super().__init__(hint=hint)
        self.bundle_id = bundle_id
        self.problems = tuple(problems)

    def render(self) -> str:
        return (
            f"managed runtime bundle {self.bundle_id!r} rejected by catalog policy: "
            + ("; ".join(self.problems))
        )


class CatalogReadError(BundleError, OSError):
    """A catalog file cannot be read."""

    def __init__(self, *, path: str, reason: str) -> None:
        super().__init__()
        self.path = path
        self.reason = reason

    def render(self) -> str:
        return f"cannot read managed runtime catalog {self.path!r}: {self.reason}"


class ChecksumError(BundleError, ValueError):
    """A checksum file is malformed or does not pin the artifact exactly once."""

    def __init__(
        self, *, artifact_name: str, problem: str, line: int | None = None
    ) -> None:
        super().__init__()
        self.artifact_name = artifact_name
        self.problem = problem
        self.line = line

    def render(self) -> str:
        where = "" if self.line is None else f" at line {self.line}"
        return f"checksum file cannot pin {self.artifact_name!r}: {self.problem}{where}"


@attrs.frozen(kw_only=True)
class SignatureRejection:
    """
    Rejection of one signature packet of a detached signature file, with the reason.

    ``signed_by`` is the issuer fingerprint (or key id) the packet names, and
    ``signed_at`` its creation time; either is ``None`` when the packet lacks it.
    """

    signed_by: str | None
    signed_at: datetime | None
    hash_algorithm: str | None
    reason: str

    def describe(self) -> str:
        """Return one line naming the signer, time, hash and reason."""
        when = "unknown time" if self.signed_at is None else self.signed_at.isoformat()
        who = self.signed_by or "unknown key"
        return (
            f"signed by {who}, {self.reason} "
            f"(signature made {when} with {self.hash_algorithm})"
        )


class SignatureError(BundleError, ValueError):
    """No signature in a detached signature file is a valid one by an allowed signer."""

    def __init__(
        self, *, document: str, rejections: Sequence[SignatureRejection]
    ) -> None:
        super().__init__()
        self.document = document
        self.rejections = tuple(rejections)

    def render(self) -> str:
        if not self.rejections:
            return f"signature over {self.document!r} rejected: no signature packets"

        lines = "; ".join(rejection.describe() for rejection in self.rejections)
        return f"signature over {self.document!r} rejected: {lines}"


class TrustRootError(BundleError, ValueError):
    """A pinned trust-root certificate is unreadable or lacks the pinned key."""

    def __init__(self, *, key_id: str, problem: str) -> None:
        super().__init__()
        self.key_id = key_id
        self.problem = problem

    def render(self) -> str:
        return f"trust root for key {self.key_id!r} is not usable: {self.problem}"


class DigestMismatchError(BundleError, ValueError):
    """Bytes fetched from a source do not have the pinned digest."""

    def __init__(self, *, name: str, url: str, expected: str, actual: str) -> None:
        super().__init__()
        self.name = name
        self.url = url
        self.expected = expected
        self.actual = actual

    def render(self) -> str:
        return (
            f"digest mismatch for {self.name!r} from {self.url!r}: "
            f"expected {self.expected!r}, got {self.actual!r}"
        )


class UrlPolicyError(BundleError, ValueError):
    """A source or redirect URL breaks the transport policy (scheme, host, count)."""

    def __init__(self, *, url: str, rule: str) -> None:
        super().__init__()
        self.url = url
        self.rule = rule

    def render(self) -> str:
        return f"url {self.url!r} rejected: {self.rule}"


class HttpStatusError(BundleError, OSError):
    """A server responded with a status other than 200 or the expected 206."""

    def __init__(self, *, url: str, status: int, reason: str) -> None:
        super().__init__()
        self.url = url
        self.status = status
        self.reason = reason

    def render(self) -> str:
        return f"{self.url!r} responded {self.status} {self.reason}".rstrip()


class ConnectionFailedError(BundleError, OSError):
    """A connection to a source could not be made or broke before a response."""

    def __init__(self, *, url: str, reason: str) -> None:
        super().__init__()
        self.url = url
        self.reason = reason

    def render(self) -> str:
        return f"connection to {self.url!r} failed: {self.reason}"


class ObjectTooLargeError(BundleError, ValueError):
    """An object is larger than the caller's size limit."""

    def __init__(self, *, name: str, url: str, max_bytes: int) -> None:
        super().__init__()
        self.name = name
        self.url = url
        self.max_bytes = max_bytes

    def render(self) -> str:
        return (
            f"{self.name!r} from {self.url!r} is too large: "
            f"more than {self.max_bytes} bytes"
        )


class TruncatedTransferError(BundleError, OSError):
    """A connection ended before the announced body length arrived."""

    def __init__(self, *, url: str, received: int, expected: int | None) -> None:
        super().__init__()
        self.url = url
        self.received = received
        self.expected = expected

    def render(self) -> str:
        total = "an unknown number of" if self.expected is None else self.expected
        return (
            f"transfer from {self.url!r} truncated: "
            f"received {self.received} of {total} bytes"
        )


class TransferTimeoutError(BundleError, TimeoutError):
    """A connect, read-idle or overall download timeout expired."""

    def __init__(self, *, url: str, phase: str, timeout: float | None) -> None:
        super().__init__()
        self.url = url
        self.phase = phase
        self.timeout = timeout

    def render(self) -> str:
        limit = "" if self.timeout is None else f" after {self.timeout:g} s"
        return f"{self.phase} timed out for {self.url!r}{limit}"


@attrs.frozen(kw_only=True)
class SourceFailure:
    """One source URL that was tried and rejected, with the error that rejected it."""

    url: str
    error: BundleError

    def describe(self) -> str:
        """Return the URL and the rejection reason on one line."""
        return f"{self.url}: {self.error}"


class DownloadError(BundleError, OSError):
    """Every source URL of an object failed; ``failures`` lists the reasons in order."""

    def __init__(self, *, name: str, failures: Sequence[SourceFailure]) -> None:
        super().__init__()
        self.name = name
        self.failures = tuple(failures)

    def render(self) -> str:
        if not self.failures:
            return f"download of {self.name!r} failed: no source urls"

        reasons = "; ".join(failure.describe() for failure in self.failures)
        return f"download of {self.name!r} failed from every source: {reasons}"


class AsyncBackendError(BundleError, RuntimeError):
    """A coroutine that needs aiohttp ran under an event loop other than asyncio."""

    def __init__(self, *, backend: str) -> None:
        super().__init__()
        self.backend = backend

    def render(self) -> str:
        return f"bundle downloads need the asyncio backend, not {self.backend!r}"


# Install, extraction and lifecycle leaves (bundles-install).


class UnsafeArchiveError(BundleError, ValueError):
    """An archive member breaks the extraction rules (path, type, size, link)."""

    def __init__(self, *, archive: str, member: str, reason: str) -> None:
        super().__init__()
        self.archive = archive
        self.member = member
        self.reason = reason

    def render(self) -> str:
        return f"unsafe archive {self.archive!r}: member {self.member!r}: {self.reason}"


class ArchiveReadError(BundleError, ValueError):
    """An archive is not a readable gzip-compressed tar stream."""

    def __init__(self, *, archive: str, reason: str) -> None:
        super().__init__()
        self.archive = archive
        self.reason = reason

    def render(self) -> str:
        return f"cannot read archive {self.archive!r}: {self.reason}"


class InstallIOError(BundleError, OSError):
    """A filesystem operation of install, promotion or uninstall failed."""

    def __init__(self, *, action: str, path: str, reason: str) -> None:
        super().__init__()
        self.action = action
        self.path = path
        self.reason = reason

    def render(self) -> str:
        return f"{self.action} failed at {self.path!r}: {self.reason}"


class InstallRootError(BundleError, ValueError):
    """An install root or bundle id cannot give a safe, scoped bundle root."""

    def __init__(self, *, path: str, reason: str, hint: str | None = None) -> None:
        super().__init__(hint=hint)
        self.path = path
        self.reason = reason

    def render(self) -> str:
        return f"unsafe managed runtime install root {self.path!r}: {self.reason}"


class BundleLockedError(BundleError, OSError):
    """Another process holds the bundle's install lock."""

    def __init__(self, *, bundle_id: str, lock_path: str, timeout: float) -> None:
        super().__init__(hint="wait for the other install or uninstall to finish")
        self.bundle_id = bundle_id
        self.lock_path = lock_path
        self.timeout = timeout

    def render(self) -> str:
        return (
            f"managed runtime bundle {self.bundle_id!r} is locked by another process "
            f"({self.lock_path!r}, waited {self.timeout:g} s)"
        )


class InstallStateError(BundleError, ValueError):
    """An existing bundle root is not a managed install this package may replace."""

    def __init__(self, *, root: str, reason: str, hint: str | None = None) -> None:
        super().__init__(hint=hint)
        self.root = root
        self.reason = reason

    def render(self) -> str:
        return f"bundle root {self.root!r} is not a managed install: {self.reason}"


class InstallTimeoutError(BundleError, TimeoutError):
    """A whole install or reinstall did not finish within its timeout."""

    def __init__(self, *, bundle_id: str, timeout: float | None) -> None:
        super().__init__()
        self.bundle_id = bundle_id
        self.timeout = timeout

    def render(self) -> str:
        limit = "" if self.timeout is None else f" after {self.timeout:g} s"
        return f"install of managed runtime bundle {self.bundle_id!r} timed out{limit}"
