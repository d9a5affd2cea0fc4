"""
Semantic Versioning 2.0.0 precedence for bundle versions such as ``v2.3.1-rc.1``.

Unlike a parser that maps every suffixed version to 0.0.0, pre-release versions
sort just below their release (``v2.3.1-rc.1 < v2.3.1``) and build metadata
(``+build.5``) is ignored. A leading ``v`` is allowed, and missing minor or
patch numbers count as 0 (``v2.3`` equals ``v2.3.0``), as the catalog format
has always read them.
"""

from __future__ import annotations

import functools
import re

import attrs

_VERSION = re.compile(
    r"v?(?P<major>0|[1-9]\d*)(?:\.(?P<minor>0|[1-9]\d*))?(?:\.(?P<patch>0|[1-9]\d*))?"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)
_NUMERIC = re.compile(r"0|[1-9]\d*")


@functools.total_ordering
@attrs.frozen(eq=False)
class SemanticVersion:
    """A parsed version; comparison follows SemVer precedence, ignoring build data."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()

    def _key(self) -> tuple[object, ...]:
        # A release sorts after all of its pre-releases. Within a pre-release,
        # numeric identifiers sort numerically and before alphanumeric ones.
        if not self.prerelease:
            return (self.major, self.minor, self.patch, (1,))

        parts = tuple(
            (0, int(part), "") if _NUMERIC.fullmatch(part) else (1, 0, part)
            for part in self.prerelease
        )
        return (self.major, self.minor, self.patch, (0, parts))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SemanticVersion):
            return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, SemanticVersion):
            return NotImplemented
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())


def parse_version(text: str) -> SemanticVersion | None:
    """
    Parse ``text`` as a semantic version with an optional leading ``v``.

    :returns: the version, or ``None`` when ``text`` is not one (for example
        ``2.3.1.4``, ``v02.3`` or ``latest``).
    """
    match = _VERSION.fullmatch(text.strip())
    if match is None:
        return None

    prerelease = tuple(match["pre"].split(".")) if match["pre"] else ()
    # SemVer forbids leading zeros in numeric pre-release identifiers.
    if any(part.isdigit() and not _NUMERIC.fullmatch(part) for part in prerelease):
        return None
    return SemanticVersion(
        int(match["major"]),
        int(match["minor"] or 0),
        int(match["patch"] or 0),
        prerelease,
    )
