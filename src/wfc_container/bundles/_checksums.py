"""
Strict reader of ``SHA256SUMS`` files: find the one digest pinned for a file name.

Accepted line forms, on any line:

- GNU text mode, ``<hex>  <name>`` (two spaces), as ``sha256sum`` writes it;
- GNU binary mode, ``<hex> *<name>``;
- BSD tag form, ``SHA256 (<name>) = <hex>``.

Every other line is an error that names its line number, because a skipped line
could be the one that pins the artifact. That includes blank lines, a tab
between digest and name (``sha256sum`` never writes one), CR line endings,
``sha256sum``'s backslash-escaped names, and a BSD tag naming any algorithm
other than SHA256. File names match exactly: no prefix, suffix, ``./`` or
directory part is stripped.
"""

from __future__ import annotations

import re

import attrs

from ._errors import ChecksumError

_GNU_LINE = re.compile(r"(?P<hex>[0-9a-fA-F]{64}) (?P<mode>[ *])(?P<name>[^\t\r\\]+)")
_BSD_LINE = re.compile(
    r"(?P<tag>[A-Z0-9-]+) \((?P<name>[^\t\r\\]+)\) = (?P<hex>[0-9a-fA-F]+)"
)


@attrs.frozen(kw_only=True)
class ChecksumEntry:
    """One line of a checksum file: 1-based line number, file name, lower-case hex."""

    line: int
    name: str
    hex_digest: str


def parse_checksums(
    checksum_bytes: bytes, *, artifact_name: str
) -> list[ChecksumEntry]:
    """
    Parse every line of a SHA-256 checksum file.

    :param checksum_bytes: the file's exact bytes, already digest-checked.
    :param artifact_name: the artifact the caller wants, named in errors.
    :returns: the entries in file order.
    :raises ChecksumError: when the file is not UTF-8 or a line has another form.
    """
    try:
        text = checksum_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise ChecksumError(
            artifact_name=artifact_name, problem="checksum file is not UTF-8 text"
        ) from None

    # A final newline ends the last line rather than starting an empty one.
    lines = text.removesuffix("\n").split("\n") if text else []
    return [
        _parse_line(line, number, artifact_name) for number, line in enumerate(lines, 1)
    ]


def _parse_line(line: str, number: int, artifact_name: str) -> ChecksumEntry:
    gnu = _GNU_LINE.fullmatch(line)
    if gnu is not None:
        return ChecksumEntry(
            line=number, name=gnu["name"], hex_digest=gnu["hex"].lower()
        )

    bsd = _BSD_LINE.fullmatch(line)
    if bsd is None:
        raise ChecksumError(
            artifact_name=artifact_name, problem="unsupported line format", line=number
        )
    if bsd["tag"] != "SHA256":
        raise ChecksumError(
            artifact_name=artifact_name,
            problem=f"unsupported algorithm {bsd['tag']!r}, expected 'SHA256'",
            line=number,
        )
    if len(bsd["hex"]) != 64:
        raise ChecksumError(
            artifact_name=artifact_name,
            problem="SHA256 digest is not 64 hex digits",
            line=number,
        )
    return ChecksumEntry(line=number, name=bsd["name"], hex_digest=bsd["hex"].lower())


def pinned_digest(checksum_bytes: bytes, artifact_name: str) -> str:
    """
    Return the digest that a checksum file pins for ``artifact_name``.

    :param checksum_bytes: the checksum file, already digest- and signature-checked.
    :param artifact_name: the exact file name to look up.
    :returns: ``sha256:<64 lower-case hex digits>``.
    :raises ChecksumError: when a line is malformed, or the name is listed zero
        times or more than once (with the same or conflicting digests).
    """
    entries = parse_checksums(checksum_bytes, artifact_name=artifact_name)
    matches = [entry for entry in entries if entry.name == artifact_name]
    if not matches:
        raise ChecksumError(
            artifact_name=artifact_name, problem="no entry for this name"
        )

    if len(matches) > 1:
        lines = ", ".join(str(entry.line) for entry in matches)
        digests = {entry.hex_digest for entry in matches}
        kind = "conflicting digests" if len(digests) > 1 else "duplicate entries"
        raise ChecksumError(
            artifact_name=artifact_name, problem=f"{kind} at lines {lines}"
        )
    return "sha256:" + matches[0].hex_digest
