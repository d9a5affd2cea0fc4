"""Strict SHA256SUMS parsing: line forms, exact names, one entry per name."""

from __future__ import annotations

import pytest

from wfc_container.bundles._checksums import parse_checksums, pinned_digest
from wfc_container.bundles._errors import ChecksumError

NAME = "nerdctl-full-2.2.0-linux-amd64.tar.gz"
HEX_A = "a" * 64
HEX_B = "b" * 64
HEX_C = "c" * 64


def test_pinned_digest_real_release_lines() -> None:
    """Two real v2.0.3 lines in GNU text mode, as release CI writes them."""
    text = (
        "91bfb8faec1673f3e7c3a020812acffc50a7d7dd82019461f6cfa46435240903"
        "  nerdctl-full-2.0.3-linux-amd64.tar.gz\n"
        "2a97f78e14cb3e024068d936c8fb801365981e5b48577e278907079de47e4d2c"
        "  nerdctl-full-2.0.3-linux-arm64.tar.gz\n"
    )

    digest = pinned_digest(text.encode(), "nerdctl-full-2.0.3-linux-arm64.tar.gz")

    assert digest == (
        "sha256:2a97f78e14cb3e024068d936c8fb801365981e5b48577e278907079de47e4d2c"
    )


def test_pinned_digest_binary_marker_any_line() -> None:
    """The ``*`` binary-mode marker is read on a later line, name after the marker."""
    text = f"{HEX_A}  nerdctl-2.2.0-linux-amd64.tar.gz\n{HEX_B} *{NAME}\n"

    assert pinned_digest(text.encode(), NAME) == f"sha256:{HEX_B}"
    assert pinned_digest(text.encode(), "nerdctl-2.2.0-linux-amd64.tar.gz") == (
        f"sha256:{HEX_A}"
    )


def test_pinned_digest_bsd_tag_sha256() -> None:
    text = f"SHA256 ({NAME}) = {HEX_C}\n"

    assert pinned_digest(text.encode(), NAME) == f"sha256:{HEX_C}"


def test_pinned_digest_bsd_tag_sha512_rejected() -> None:
    text = f"SHA512 ({NAME}) = {'d' * 128}\n"

    with pytest.raises(ChecksumError, match="unsupported algorithm 'SHA512'") as info:
        pinned_digest(text.encode(), NAME)

    assert info.value.line == 1
    assert info.value.artifact_name == NAME


def test_pinned_digest_tab_separator_rejected() -> None:
    """A tab is not a form sha256sum writes, so it is rejected, not guessed at."""
    text = f"{HEX_A}  other.tar.gz\n{HEX_C}\t{NAME}\n"

    with pytest.raises(ChecksumError, match="unsupported line format at line 2"):
        pinned_digest(text.encode(), NAME)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (f"{HEX_A}  {NAME}\n\n{HEX_B}  x\n", 2),
        (f"{HEX_A}  {NAME}\r\n", 1),
        (f"{HEX_A} {NAME}\n", 1),
        (f"{HEX_A[:63]}  {NAME}\n", 1),
        (f"\\{HEX_A}  back\\\\slash\n", 1),
        (f"# comment\n{HEX_A}  {NAME}\n", 1),
        (f"{HEX_A}  {NAME}\ngarbage after the match\n", 2),
    ],
    ids=[
        "blank-line",
        "crlf",
        "one-space",
        "short-hex",
        "escaped-name",
        "comment",
        "bad-line-after-match",
    ],
)
def test_pinned_digest_malformed_line(text: str, line: int) -> None:
    """No line is skipped: each malformed one is reported with its number."""
    with pytest.raises(ChecksumError, match="unsupported line format") as info:
        pinned_digest(text.encode(), NAME)

    assert info.value.line == line


def test_pinned_digest_exact_name_among_neighbours() -> None:
    """A name that is a prefix or suffix of other entries matches only itself."""
    text = (
        f"{HEX_A}  {NAME}\n"
        f"{HEX_B}  {NAME}.sbom.json\n"
        f"{HEX_C}  nerdctl-2.2.0-linux-amd64.tar.gz\n"
    )

    assert pinned_digest(text.encode(), NAME) == f"sha256:{HEX_A}"


@pytest.mark.parametrize(
    "text",
    [
        f"{HEX_B}  {NAME}.sbom.json\n{HEX_C}  nerdctl-2.2.0-linux-amd64.tar.gz\n",
        f"{HEX_A}  ./{NAME}\n",
        f"{HEX_A}  dist/{NAME}\n",
        "",
    ],
    ids=["only-neighbours", "dot-slash", "directory", "empty-file"],
)
def test_pinned_digest_missing_name(text: str) -> None:
    with pytest.raises(ChecksumError, match="no entry for this name"):
        pinned_digest(text.encode(), NAME)


def test_pinned_digest_conflicting_entries() -> None:
    text = f"{HEX_A}  {NAME}\n{HEX_C}  other\n{HEX_B}  {NAME}\n"

    with pytest.raises(ChecksumError, match="conflicting digests at lines 1, 3"):
        pinned_digest(text.encode(), NAME)


def test_pinned_digest_duplicate_entries() -> None:
    """Even an identical repeat is rejected: the file must pin the name once."""
    text = f"{HEX_A}  {NAME}\n{HEX_A} *{NAME}\n"

    with pytest.raises(ChecksumError, match="duplicate entries at lines 1, 2"):
        pinned_digest(text.encode(), NAME)


def test_pinned_digest_upper_case_hex_lowered() -> None:
    text = f"{HEX_A.upper()}  {NAME}\n"

    assert pinned_digest(text.encode(), NAME) == f"sha256:{HEX_A}"


def test_parse_checksums_not_utf8() -> None:
    with pytest.raises(ChecksumError, match="not UTF-8"):
        parse_checksums(b"\xff\xfe  x\n", artifact_name=NAME)


def test_parse_checksums_no_final_newline() -> None:
    entries = parse_checksums(f"{HEX_A}  a\n{HEX_B}  b".encode(), artifact_name="a")

    assert [(entry.line, entry.name) for entry in entries] == [(1, "a"), (2, "b")]
