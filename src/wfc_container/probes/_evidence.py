"""
Parse the probe program's evidence line and check it against what the host recorded.

The host trusts no claim it can check itself. The digest must be the SHA-256 of
the nonce it planted, the root filesystem must have refused a write, and the
workspace must be as it was. Every detail must be shippable text.
"""

from __future__ import annotations

import json

import attrs

from .._errors import DocumentError
from .._textrules import scrub_public_text
from .._wire import RuntimeBackendEvidence
from ._conformance import READ_ONLY_VERIFIED, SCOPE_DETAIL_PREFIX, Workspace


@attrs.frozen(kw_only=True)
class EvidenceCheck:
    """The evidence as the host accepted it, and every problem it found."""

    evidence: RuntimeBackendEvidence | None
    problems: tuple[str, ...]
    not_json: str | None = None
    invalid: tuple[str, ...] = ()
    removed_from_details: tuple[str, ...] = ()


def check_evidence(
    stdout: bytes, workspace: Workspace, *, scope_name: str | None
) -> EvidenceCheck:
    """
    Parse ``stdout`` and verify the evidence in it.

    ``problems`` is empty only when all five flags hold and the host verified
    the proof digest, the read-only root, the cleanup and (for a managed
    runtime) the scope detail.
    """
    line = _evidence_line(stdout)
    if line is None:
        return EvidenceCheck(evidence=None, problems=(), not_json="no JSON line")
    try:
        raw = json.loads(line)
    except ValueError as exc:
        return EvidenceCheck(evidence=None, problems=(), not_json=str(exc))
    except RecursionError:
        return EvidenceCheck(evidence=None, problems=(), not_json="nested too deeply")
    # Imported here: cattrs is only needed once a container has printed evidence.
    from .._converter import structure

    try:
        parsed = structure(raw, RuntimeBackendEvidence, document="evidence")
    except DocumentError as exc:
        return EvidenceCheck(evidence=None, problems=(), invalid=exc.problems)

    details, removed = _scrub_details(parsed.details)
    evidence = _verified(parsed, details, workspace)
    problems = [f"missing {name}" for name in evidence.missing_flags()]
    if parsed.proof and evidence.digest != workspace.expected_digest:
        problems.append("proof digest does not match the host nonce")
    if READ_ONLY_VERIFIED not in details:
        problems.append("read-only root not verified")
    if scope_name and f"{SCOPE_DETAIL_PREFIX}{scope_name}" not in details:
        problems.append("missing managed runtime scope evidence")
    return EvidenceCheck(
        evidence=evidence, problems=tuple(problems), removed_from_details=removed
    )


def _evidence_line(stdout: bytes) -> str | None:
    # The program prints one line; runtimes may add their own lines before it.
    lines = stdout.decode("utf-8", errors="replace").splitlines()
    for line in reversed(lines):
        if line.strip().startswith("{"):
            return line.strip()
    return None


def _scrub_details(
    details: tuple[str, ...],
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    kept: list[str] = []
    removed: list[str] = []
    for detail in details:
        scrubbed = scrub_public_text(detail)
        if scrubbed.text:
            kept.append(scrubbed.text)
        removed.extend(item for item in scrubbed.removed if item not in removed)
    return tuple(kept), tuple(removed)


def _verified(
    parsed: RuntimeBackendEvidence, details: tuple[str, ...], workspace: Workspace
) -> RuntimeBackendEvidence:
    proof_ok = parsed.proof and parsed.digest == workspace.expected_digest
    cleanup_ok = parsed.cleanup and not workspace.leftovers()
    return attrs.evolve(
        parsed,
        proof=proof_ok,
        cleanup=cleanup_ok,
        details=details,
        digest=parsed.digest if proof_ok else "",
    )
