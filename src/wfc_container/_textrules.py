"""
Text validators of the compute protocol, and scrubbing of text before it ships.

The validators return problem lists with the protocol's exact messages, so a
report or descriptor checked here fails exactly where the Go validator fails.
"""

from __future__ import annotations

import re

import attrs

# Lower-case substrings that make text "non-shippable runtime evidence".
PATH_MARKERS = ("/users/", "/home/", "\\users\\", ".sock")
CORE_MARKERS = (
    "token",
    "cookie",
    "secret",
    "password",
    "credential",
    "authorization",
    "bearer",
)
_IDENTIFIER_FORBIDDEN = frozenset(" \t\r\n/:?&#")
_SHA256_LOWER = re.compile(r"sha256:[0-9a-f]{64}")
_SHA256_ANY_CASE = re.compile(r"sha256:[0-9a-fA-F]{64}")
# What Go's strings.TrimSpace strips (unicode.IsSpace). Python's str.strip()
# would also strip U+001C..U+001F, which Go keeps.
_GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def go_trim_space(value: str) -> str:
    """Return ``value`` without leading and trailing white space, as Go trims it."""
    return value.strip(_GO_SPACE)


def identifier_problems(field: str, value: str) -> list[str]:
    """
    Check ``value`` as a protocol identifier (no blank, whitespace, scheme or path).

    :returns: at most one problem, with the protocol's message.
    """
    if not go_trim_space(value):
        return [f"{field} is required"]
    if go_trim_space(value) != value:
        return [f"{field} must not contain leading or trailing whitespace"]
    if any(char in _IDENTIFIER_FORBIDDEN for char in value):
        return [
            f"{field} must not contain whitespace, scheme, path, query, or fragment"
        ]

    return []


def public_text_problems(field: str, value: str) -> list[str]:
    """
    Check that ``value`` may ship to the host: no secrets or host paths, one line.

    An empty value passes. Both problems can be reported together.
    """
    problems: list[str] = []
    lowered = value.lower()
    if any(marker in lowered for marker in PATH_MARKERS + CORE_MARKERS):
        problems.append(f"{field} contains non-shippable runtime evidence")
    if any(char in value for char in "\x00\r\n"):
        problems.append(f"{field} must be single-line text")

    return problems


def required_runtime_identifier_problems(field: str, value: str) -> list[str]:
    """Check ``value`` as an identifier, then, only if that passes, as public text."""
    return identifier_problems(field, value) or public_text_problems(field, value)


def required_public_text_problems(field: str, value: str) -> list[str]:
    """Check that ``value`` is non-blank, not padded, and public text."""
    if not go_trim_space(value):
        return [f"{field} is required"]
    if go_trim_space(value) != value:
        return [f"{field} must not contain leading or trailing whitespace"]

    return public_text_problems(field, value)


def is_sha256_digest(value: str) -> bool:
    """Return whether ``value`` is ``sha256:`` and 64 lower-case hex digits."""
    return _SHA256_LOWER.fullmatch(value) is not None


def is_sha256_ref(value: str) -> bool:
    """Return whether ``value`` is ``sha256:`` and 64 hex digits of either case."""
    return _SHA256_ANY_CASE.fullmatch(value) is not None


def digest_problems(
    field: str, value: str, *, required: bool, lowercase_only: bool = True
) -> list[str]:
    """
    Check ``value`` as a sha256 digest.

    :param required: report an empty value as missing; otherwise it passes.
    :param lowercase_only: reject upper-case hex, as descriptor digests do;
        executor digests accept either case.
    """
    if not value:
        return [f"{field} is required"] if required else []

    valid = is_sha256_digest(value) if lowercase_only else is_sha256_ref(value)
    if valid:
        return []
    if lowercase_only:
        return [f"{field} must be sha256:<64 lowercase hex chars>"]

    return [f"{field} must be sha256:<64 hex chars>"]


@attrs.frozen
class ScrubbedText:
    """Text made shippable, with the categories of what was taken out."""

    text: str
    removed: tuple[str, ...] = ()


# Categories in the order ``ScrubbedText.removed`` lists them.
SCRUB_CATEGORIES = (
    "socket path",
    "home path",
    "credentials in URL",
    "sensitive word",
    "line breaks",
)
# A path runs to the next white space or quote, without trailing punctuation.
_PATH_TAIL = r"(?:[^\s\"'`<>]*[^\s\"'`<>.,;:!?()\[\]{}])?"
_SOCKET_URL = re.compile(r"\b(?:unix|npipe)://" + _PATH_TAIL, re.IGNORECASE)
_SOCKET_PATH = re.compile(
    r"(?:[^\s\"'`()<>\[\]]*/)?[\w.@~-]*\.sock(?:et)?\b", re.IGNORECASE
)
_HOME_PATH = re.compile(
    r"(?:[a-z]:)?[\\/](?:home|users|root)(?=[\\/]|\b)" + _PATH_TAIL, re.IGNORECASE
)
# "[credentials]" would itself contain a sensitive marker, so user info is
# replaced by the RFC 3986 name of that URL part.
_URL_USERINFO = re.compile(r"\b([a-z][a-z0-9+.-]*://)[^\s/@]*@", re.IGNORECASE)
_LINE_BREAKS = re.compile(r"[\r\n\t\v\f\x1c-\x1e\x85\u2028\u2029]")
_SPACES = re.compile(r"(\s+)")


def scrub_public_text(text: str) -> ScrubbedText:
    """
    Make ``text`` pass :func:`public_text_problems` by removing only what must go.

    Socket paths and ``unix://``/``npipe://`` URLs become ``[socket path]``,
    home directories ``[home path]``, and URL user info ``[userinfo]``. Any
    remaining word with a sensitive marker becomes ``[sensitive word]``, and so
    does the word after it when the marker word introduces a value (it ends in
    ``:`` or ``=``, is an option such as ``--password``, or is ``bearer``).
    The text is collapsed to one trimmed line. ``removed`` lists the
    categories replaced, each once, in the order of ``SCRUB_CATEGORIES``.
    """
    removed: set[str] = set()
    if any(char in text for char in "\x00\r\n"):
        removed.add("line breaks")
    text = _LINE_BREAKS.sub(" ", text.replace("\x00", "")).strip()
    text = _replace(_SOCKET_URL, "[socket path]", text, "socket path", removed)
    text = _replace(_SOCKET_PATH, "[socket path]", text, "socket path", removed)
    text = _replace(_HOME_PATH, "[home path]", text, "home path", removed)
    text = _replace(
        _URL_USERINFO, r"\1[userinfo]@", text, "credentials in URL", removed
    )
    text = _scrub_words(text, removed)
    ordered = tuple(c for c in SCRUB_CATEGORIES if c in removed)
    return ScrubbedText(text=text, removed=ordered)


def _replace(
    pattern: re.Pattern[str], repl: str, text: str, category: str, removed: set[str]
) -> str:
    result, count = pattern.subn(repl, text)
    if count:
        removed.add(category)

    return result


def _scrub_words(text: str, removed: set[str]) -> str:
    parts = _SPACES.split(text)
    hide_next = False
    # Even indexes are words, odd ones the white space between them.
    for index in range(0, len(parts), 2):
        word = parts[index]
        sensitive = _is_sensitive(word.lower())
        if sensitive or (hide_next and word):
            parts[index] = "[sensitive word]"
            removed.add("sensitive word")
        hide_next = sensitive and _introduces_value(word.lower())

    return "".join(parts)


def _is_sensitive(lowered: str) -> bool:
    return any(marker in lowered for marker in PATH_MARKERS + CORE_MARKERS)


def _introduces_value(lowered: str) -> bool:
    return (
        lowered.endswith((":", "=")) or lowered.startswith("-") or lowered == "bearer"
    )
