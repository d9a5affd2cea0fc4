"""Protocol text validators and scrubbing of text that ships to the host."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from wfc_container._textrules import (
    CORE_MARKERS,
    PATH_MARKERS,
    ScrubbedText,
    digest_problems,
    identifier_problems,
    is_sha256_digest,
    public_text_problems,
    required_public_text_problems,
    required_runtime_identifier_problems,
    scrub_public_text,
)

LOWER = "sha256:" + "ab" * 32
UPPER = "sha256:" + "AB" * 32


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("podman-rootless", []),
        ("", ["f is required"]),
        ("  ", ["f is required"]),
        (" x", ["f must not contain leading or trailing whitespace"]),
        ("a b", ["f must not contain whitespace, scheme, path, query, or fragment"]),
        *[
            (
                f"a{char}b",
                ["f must not contain whitespace, scheme, path, query, or fragment"],
            )
            for char in "\t/:?&#"
        ],
    ],
    ids=[
        "ok",
        "empty",
        "blank",
        "padded",
        "space",
        "tab",
        "slash",
        "colon",
        "query",
        "amp",
        "hash",
    ],
)
def test_identifier_problems(value: str, expected: list[str]) -> None:
    assert identifier_problems("f", value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", []),
        ("containerd/nerdctl release", []),
        ("author authenticated", []),
        ("see /Users/bob", ["f contains non-shippable runtime evidence"]),
        ("C:\\Users\\bob", ["f contains non-shippable runtime evidence"]),
        ("x.SOCK", ["f contains non-shippable runtime evidence"]),
        ("Bearer", ["f contains non-shippable runtime evidence"]),
        ("a\nb", ["f must be single-line text"]),
        ("a\x00b", ["f must be single-line text"]),
        (
            "token\r",
            [
                "f contains non-shippable runtime evidence",
                "f must be single-line text",
            ],
        ),
    ],
    ids=[
        "empty",
        "issuer",
        "harmless",
        "users",
        "windows",
        "sock",
        "bearer",
        "lf",
        "nul",
        "both",
    ],
)
def test_public_text_problems(value: str, expected: list[str]) -> None:
    assert public_text_problems("f", value) == expected


def test_required_runtime_identifier_first_stage_only() -> None:
    assert required_runtime_identifier_problems("f", "a/token") == [
        "f must not contain whitespace, scheme, path, query, or fragment"
    ]
    assert required_runtime_identifier_problems("f", "secret-1") == [
        "f contains non-shippable runtime evidence"
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ["f is required"]),
        (" x", ["f must not contain leading or trailing whitespace"]),
        ("Chengyu Zhu <hudson@cyzhu.com>", []),
        ("my password", ["f contains non-shippable runtime evidence"]),
    ],
    ids=["blank", "padded", "ok", "marker"],
)
def test_required_public_text_problems(value: str, expected: list[str]) -> None:
    assert required_public_text_problems("f", value) == expected


@pytest.mark.parametrize(
    ("value", "required", "lowercase_only", "expected"),
    [
        (LOWER, True, True, []),
        ("", True, True, ["f is required"]),
        ("", False, True, []),
        (UPPER, True, True, ["f must be sha256:<64 lowercase hex chars>"]),
        (UPPER, True, False, []),
        (LOWER[:-1], False, False, ["f must be sha256:<64 hex chars>"]),
        (
            "sha512:" + "a" * 64,
            False,
            True,
            ["f must be sha256:<64 lowercase hex chars>"],
        ),
    ],
    ids=[
        "lower",
        "missing",
        "optional",
        "upper-strict",
        "upper-loose",
        "short",
        "sha512",
    ],
)
def test_digest_problems(
    value: str, required: bool, lowercase_only: bool, expected: list[str]
) -> None:
    assert (
        digest_problems("f", value, required=required, lowercase_only=lowercase_only)
        == expected
    )


def test_is_sha256_digest() -> None:
    assert is_sha256_digest(LOWER)
    assert not is_sha256_digest(UPPER)
    assert not is_sha256_digest(LOWER + "\n")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "dial unix /run/user/1000/podman/podman.sock: connect: permission denied",
            ScrubbedText(
                text="dial unix [socket path]: connect: permission denied",
                removed=("socket path",),
            ),
        ),
        (
            "Cannot connect to unix:///var/run/docker.sock. Is the daemon running?",
            ScrubbedText(
                text="Cannot connect to [socket path]. Is the daemon running?",
                removed=("socket path",),
            ),
        ),
        (
            "open //./pipe/x via npipe:////./pipe/docker_engine",
            ScrubbedText(
                text="open //./pipe/x via [socket path]", removed=("socket path",)
            ),
        ),
        (
            "open /home/alice/.docker/config.json: no such file",
            ScrubbedText(text="open [home path]: no such file", removed=("home path",)),
        ),
        (
            "stat C:\\Users\\bob\\app, then /Users/bob/x and /root/.config",
            ScrubbedText(
                text="stat [home path], then [home path] and [home path]",
                removed=("home path",),
            ),
        ),
        (
            "pull https://bob:hunter2@registry.local/app failed",
            ScrubbedText(
                text="pull https://[userinfo]@registry.local/app failed",
                removed=("credentials in URL",),
            ),
        ),
        (
            "registry credential token rejected",
            ScrubbedText(
                text="registry [sensitive word] [sensitive word] rejected",
                removed=("sensitive word",),
            ),
        ),
        (
            "header Authorization: Bearer abc.def sent",
            ScrubbedText(
                text="header [sensitive word] [sensitive word] [sensitive word] sent",
                removed=("sensitive word",),
            ),
        ),
        (
            "--password s3cret given",
            ScrubbedText(
                text="[sensitive word] [sensitive word] given",
                removed=("sensitive word",),
            ),
        ),
        (
            "  line one\r\nline\ttwo\x00 ",
            ScrubbedText(text="line one  line two", removed=("line breaks",)),
        ),
        (
            "the author was authenticated at /var/lib/rootless",
            ScrubbedText(text="the author was authenticated at /var/lib/rootless"),
        ),
        (
            "token at /home/a/b.sock\nand ftp://u@h",
            ScrubbedText(
                text="[sensitive word] at [socket path] and ftp://[userinfo]@h",
                removed=(
                    "socket path",
                    "credentials in URL",
                    "sensitive word",
                    "line breaks",
                ),
            ),
        ),
    ],
    ids=[
        "socket-path",
        "unix-url",
        "npipe-url",
        "home",
        "other-homes",
        "userinfo",
        "markers",
        "auth-header",
        "option-value",
        "line-breaks",
        "harmless",
        "all-categories",
    ],
)
def test_scrub_public_text(text: str, expected: ScrubbedText) -> None:
    assert scrub_public_text(text) == expected


_PIECES = st.sampled_from(
    [
        *PATH_MARKERS,
        *CORE_MARKERS,
        "TOKEN",
        "Bearer",
        "unix://",
        "npipe://",
        "://",
        "@",
        ":",
        "/",
        "\\",
        ".",
        " ",
        "\n",
        "\r",
        "\x00",
        "\u2028",
        "home",
        "Users",
        "root",
        "sock",
        "[",
        "]",
        "\u212a",  # Kelvin sign, which lower-cases to "k"
    ]
)
_TEXT = st.one_of(
    st.text(),
    st.lists(st.one_of(_PIECES, st.text(max_size=3)), max_size=30).map("".join),
)


@given(_TEXT)
@example("/home/home/\\users\\x.sock")
@example("to\u212aen")
@example("https://a:b@c/[credentials]")
def test_scrub_public_text_always_shippable(text: str) -> None:
    scrubbed = scrub_public_text(text)

    assert public_text_problems("reason", scrubbed.text) == []
    assert scrubbed.text == scrubbed.text.strip()


@given(st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1))
def test_scrub_public_text_keeps_clean_words(word: str) -> None:
    """A single word without markers comes back unchanged."""
    if public_text_problems("w", word) or word != word.strip():
        return

    assert scrub_public_text(word) == ScrubbedText(text=word)


def test_identifier_trims_like_go() -> None:
    """Go's TrimSpace keeps U+001F but strips U+3000."""
    assert identifier_problems("f", "\x1fa") == []
    assert identifier_problems("f", "a\u3000") == [
        "f must not contain leading or trailing whitespace"
    ]
