"""Claim digests and opaque scope names, computed exactly as the Go protocol does."""

from __future__ import annotations

import hashlib


def claim_digest(*parts: str) -> str:
    """
    Return ``sha256:<hex>`` of the parts joined with NUL bytes.

    The executor ``image_digest``/``rootfs_digest`` claims and scope names use
    this construction, so the values match reports written by the Go probe.
    """
    joined = "\x00".join(parts).encode()
    return "sha256:" + hashlib.sha256(joined).hexdigest()


def scope_name(*parts: str) -> str:
    """
    Return the opaque managed-runtime namespace name for ``parts``.

    The name is ``wfcompute-`` plus 16 hex digits, and names nothing about the
    pool or worker it belongs to.
    """
    return "wfcompute-" + claim_digest(*parts, "scope")[7:23]
