"""
Detached OpenPGP signature check against pinned trust-root certificates.

pysequoia (sequoia-openpgp) does the cryptography and its standard policy:
binding signatures, key flags, revocations, algorithm strength, and key
liveness at the time the signature was made. This module adds the rules on top:

- only the pinned certificates count, matched by their primary key id, and
  the verdict reports the primary fingerprint even when a subkey signed;
- a file with several signatures passes when one of them is from an allowed
  signer, and each rejected one is listed with its reason;
- signatures dated after the verification time (plus a small clock skew) are
  rejected, and so are SHA-1 and other weak signature hashes;
- a revoked certificate is rejected whenever the revocation was made;
- a key that expired after it signed is accepted, and the verdict reports
  when it expired, which matches GnuPG's "good signature, key expired" judgement.

Key binding signatures made with SHA-1 are rejected, because sequoia's
standard policy has not accepted them since 2023-02-01. The message then
states that the binding was rejected by policy, not that the signature is bad.

A pinned certificate must keep a self-signature that was in force when the
release was signed. GnuPG drops the old self-signature when a key's expiry is
extended, and a copy refreshed after the release was signed is rejected with a
message that explains this, although GnuPG accepts it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import attrs
from pysequoia import Cert, Sig, verify
from pysequoia.packet import Packet, PacketPile, SignatureType, Tag

from ._errors import SignatureError, SignatureRejection, TrustRootError

if TYPE_CHECKING:
    from collections.abc import Sequence

# Creation times up to this far ahead of the verification time are accepted,
# because the signer's clock and ours are never exactly in step.
MAX_CLOCK_SKEW = timedelta(minutes=5)
WEAK_HASHES = frozenset({"MD5", "SHA1", "RipeMD"})
_SELF_SIGNATURE_TYPES = (
    SignatureType.PositiveCertification,
    SignatureType.GenericCertification,
    SignatureType.CasualCertification,
    SignatureType.PersonaCertification,
    SignatureType.DirectKey,
    SignatureType.SubkeyBinding,
)


@attrs.frozen(kw_only=True)
class PinnedCertificate:
    """
    A trust-root certificate file whose digest the caller already checked.

    ``key_id`` is the primary key's 16-hex-digit key id or full fingerprint.
    The file may hold several certificates; only the one with that id is used.
    """

    key_id: str
    certificate: bytes


@attrs.frozen(kw_only=True)
class SignatureVerdict:
    """
    An accepted signature.

    ``fingerprint`` is the pinned primary key's fingerprint and ``signing_key``
    the key that made the signature (the same, or a signing subkey), both
    upper-case hex. ``key_expired_at`` is set when that key had expired by the
    verification time, after it made the signature.
    """

    fingerprint: str
    key_id: str
    signing_key: str
    signed_at: datetime
    hash_algorithm: str
    key_expired_at: datetime | None


@attrs.frozen
class _Pinned:
    key_id: str
    cert: Cert
    # Packets of the certificate, grouped by the key packet they follow.
    components: dict[str, list[Packet]]
    key_ids: dict[str, str]


def verify_signature(
    data: bytes,
    signature: bytes,
    signers: Sequence[PinnedCertificate],
    *,
    now: datetime,
    document: str = "SHA256SUMS",
) -> SignatureVerdict:
    """
    Check a detached signature over ``data`` against the allowed signers.

    This is CPU work without I/O; async callers run it in a worker thread.

    :param data: the signed bytes, exactly as fetched.
    :param signature: the detached signature file, armored or binary; it may
        contain several signatures.
    :param signers: the allowed signers' pinned certificates.
    :param now: the verification time, timezone-aware.
    :param document: the signed file's name, for messages.
    :returns: the verdict for the first acceptable signature.
    :raises TrustRootError: when a pinned certificate is unreadable or lacks its key.
    :raises SignatureError: when no signature is valid and from an allowed signer;
        it lists every signature with its signer, time, hash and reason.

    .. note:: The cryptographic check runs on sequoia's own clock, so ``now``
       decides the future-date and expiry rules but not sequoia's liveness check.
    """
    pinned = [_load_pinned(signer) for signer in signers]
    rejections: list[SignatureRejection] = []
    for sig in _split_signatures(signature, document, rejections):
        outcome = _check_signature(data, sig, pinned, now)
        if isinstance(outcome, SignatureVerdict):
            return outcome
        rejections.append(outcome)

    raise SignatureError(document=document, rejections=rejections)


def _first_line(exc: Exception) -> str:
    # pysequoia appends a Rust backtrace when RUST_BACKTRACE is set.
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _name(value: object) -> str:
    return repr(value).rsplit(".", 1)[-1]


def _load_pinned(signer: PinnedCertificate) -> _Pinned:
    try:
        certs = Cert.split_bytes(signer.certificate)
    except (RuntimeError, ValueError) as exc:
        problem = f"not an OpenPGP certificate: {_first_line(exc)}"
        raise TrustRootError(key_id=signer.key_id, problem=problem) from exc

    wanted = signer.key_id.strip().upper()
    for cert in certs:
        fingerprint = cert.fingerprint.upper()
        if len(wanted) >= 16 and fingerprint.endswith(wanted):
            components, key_ids = _components(cert)
            return _Pinned(signer.key_id, cert, components, key_ids)

    problem = "the file contains no primary key with this id"
    raise TrustRootError(key_id=signer.key_id, problem=problem)


def _components(cert: Cert) -> tuple[dict[str, list[Packet]], dict[str, str]]:
    components: dict[str, list[Packet]] = {}
    key_ids: dict[str, str] = {}
    current: list[Packet] = []
    for packet in PacketPile.from_bytes(bytes(cert)):
        if packet.tag in (Tag.PublicKey, Tag.PublicSubkey):
            fingerprint = (packet.fingerprint or "").upper()
            current = components.setdefault(fingerprint, [])
            key_ids[(packet.key_id or "").upper()] = fingerprint
        current.append(packet)

    return components, key_ids


def _split_signatures(
    signature: bytes, document: str, rejections: list[SignatureRejection]
) -> list[Sig]:
    try:
        packets = list(PacketPile.from_bytes(signature))
    except (RuntimeError, ValueError) as exc:
        reason = f"not an OpenPGP signature file: {_first_line(exc)}"
        rejection = SignatureRejection(
            signed_by=None, signed_at=None, hash_algorithm=None, reason=reason
        )
        raise SignatureError(document=document, rejections=[rejection]) from exc

    sigs = []
    for packet in packets:
        if packet.tag == Tag.Signature:
            sigs.append(Sig.from_bytes(bytes(packet)))
            continue
        reason = f"unexpected {_name(packet.tag)} packet in a detached signature"
        rejections.append(
            SignatureRejection(
                signed_by=None, signed_at=None, hash_algorithm=None, reason=reason
            )
        )

    return sigs


def _owner(sig: Sig, pinned: Sequence[_Pinned]) -> tuple[_Pinned, str] | None:
    issuer = (sig.issuer_fingerprint or "").upper()
    issuer_key_id = (sig.issuer_key_id or "").upper()
    for candidate in pinned:
        if issuer in candidate.components:
            return candidate, issuer
        if not issuer and issuer_key_id in candidate.key_ids:
            return candidate, candidate.key_ids[issuer_key_id]

    return None


def _check_signature(
    data: bytes, sig: Sig, pinned: Sequence[_Pinned], now: datetime
) -> SignatureVerdict | SignatureRejection:
    signed_at = sig.created
    hash_name = _name(sig.hash_algorithm)
    owner = _owner(sig, pinned)
    problem = _packet_problem(owner is not None, signed_at, hash_name, now)
    if problem is None and owner is not None:
        problem = _certificate_problem(owner[0])
    if problem is None and owner is not None and signed_at is not None:
        problem = _cryptographic_problem(data, sig, owner[0], owner[1], signed_at)
    if problem is not None or owner is None or signed_at is None:
        signed_by = (sig.issuer_fingerprint or sig.issuer_key_id or "").upper()
        return SignatureRejection(
            signed_by=signed_by or None,
            signed_at=signed_at,
            hash_algorithm=hash_name,
            reason=problem or "signature was not checked",
        )

    candidate, component = owner
    return SignatureVerdict(
        fingerprint=candidate.cert.fingerprint.upper(),
        key_id=candidate.key_id,
        signing_key=component,
        signed_at=signed_at,
        hash_algorithm=hash_name,
        key_expired_at=_expired_by(candidate, component, now),
    )


def _packet_problem(
    allowed: bool, signed_at: datetime | None, hash_name: str, now: datetime
) -> str | None:
    """Check what the signature packet alone shows, before any cryptography."""
    if not allowed:
        return "not in the allowed set"
    if signed_at is None:
        return "signature has no creation time"
    if signed_at > now + MAX_CLOCK_SKEW:
        return f"signature is dated after the verification time {now.isoformat()}"
    if hash_name in WEAK_HASHES:
        return f"hash algorithm {hash_name} is rejected by policy"

    return None


def _certificate_problem(candidate: _Pinned) -> str | None:
    try:
        revoked = candidate.cert.is_revoked
        candidate.cert.expiration  # noqa: B018 - raises when policy rejects the key
    except RuntimeError as exc:
        binding = _weak_binding_problem(candidate, candidate.cert.fingerprint.upper())
        return binding or f"key rejected by policy: {_first_line(exc)}"

    # Unlike GnuPG, which only warns, any revocation rejects the key, because a
    # release key is revoked when it may have been used by someone else.
    return "key is revoked" if revoked else None


def _cryptographic_problem(
    data: bytes, sig: Sig, candidate: _Pinned, component: str, signed_at: datetime
) -> str | None:
    try:
        result = verify(bytes=data, store=lambda _ids: [candidate.cert], signature=sig)
    except (RuntimeError, ValueError):
        return _diagnose(candidate, component, signed_at)

    fingerprint = candidate.cert.fingerprint
    if not any(valid.certificate == fingerprint for valid in result.valid_sigs):
        return "signature is valid, but not by the pinned certificate"

    return None


def _self_signatures(candidate: _Pinned, component: str) -> list[Packet]:
    return [
        packet
        for packet in candidate.components.get(component, [])
        if packet.tag == Tag.Signature
        and packet.signature_type in _SELF_SIGNATURE_TYPES
    ]


def _weak_binding_problem(candidate: _Pinned, component: str) -> str | None:
    primary = candidate.cert.fingerprint.upper()
    for owner in dict.fromkeys((primary, component)):
        for packet in _self_signatures(candidate, owner):
            if _name(packet.hash_algorithm) in WEAK_HASHES:
                return (
                    f"key binding of {owner} rejected by policy: its binding "
                    f"signature uses {_name(packet.hash_algorithm)}"
                )

    return None


def _diagnose(candidate: _Pinned, component: str, signed_at: datetime) -> str:
    """Explain why sequoia rejected a signature by a pinned key; it gives no reason."""
    binding = _weak_binding_problem(candidate, component)
    if binding is not None:
        return binding

    flags = [p.key_flags for p in _self_signatures(candidate, component) if p.key_flags]
    if flags and not flags[-1].signing:
        return f"key {component} is not marked for signing"
    expiry = _component_expiry(candidate, component)
    if expiry is not None and signed_at >= expiry:
        return f"signature made after the key expired at {expiry.isoformat()}"
    oldest = _oldest_self_signature(candidate)
    # Sequoia judges a key by the self-signature in force when it signed.
    # GnuPG replaces self-signatures when a key's expiry is extended, so a
    # copy refreshed after the release was signed has none that old.
    if oldest is not None and oldest > signed_at:
        return (
            f"the pinned certificate has no self-signature from before the "
            f"signature; its oldest is from {oldest.isoformat()}, so pin a copy of "
            f"the key that keeps the self-signature valid at signing time"
        )

    return (
        "signature does not verify with the pinned certificate: the data or the "
        "signature was altered, or the signing key is not validly bound"
    )


def _oldest_self_signature(candidate: _Pinned) -> datetime | None:
    primary = candidate.cert.fingerprint.upper()
    times = [
        packet.signature_created
        for packet in _self_signatures(candidate, primary)
        if packet.signature_created is not None
    ]
    return min(times, default=None)


def _component_expiry(candidate: _Pinned, component: str) -> datetime | None:
    packets = candidate.components.get(component, [])
    created = packets[0].key_created if packets else None
    bindings = [
        p for p in _self_signatures(candidate, component) if p.signature_created
    ]
    if created is None or not bindings:
        return None

    newest = max(bindings, key=lambda p: p.signature_created or created)
    period = newest.key_validity_period
    return None if period is None else created + period


def _expired_by(candidate: _Pinned, component: str, now: datetime) -> datetime | None:
    expiries = [
        expiry
        for expiry in (
            _component_expiry(candidate, candidate.cert.fingerprint.upper()),
            _component_expiry(candidate, component),
        )
        if expiry is not None and expiry <= now
    ]
    return min(expiries, default=None)
