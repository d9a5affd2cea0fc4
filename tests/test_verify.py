"""
Signature checks against keys and signatures made by real GnuPG 2.2.

Where GnuPG only warns (SHA-1 signatures, revoked keys, signatures made after
the key expired), the project rejects; those tests record GnuPG's verdict
beside ours.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pysequoia import Cert
from pysequoia.packet import PacketPile, Tag

from bundle_fixtures import GnuPG, GpgKey
from wfc_container.bundles._errors import SignatureError, TrustRootError
from wfc_container.bundles._verify import (
    PinnedCertificate,
    SignatureVerdict,
    verify_signature,
)

DATA = b"0" * 64 + b"  nerdctl-full-2.3.1-linux-amd64.tar.gz\n"
NOW = datetime.now(UTC)
DAY = timedelta(days=1)


@pytest.fixture(name="gnupg")
def gnupg_home() -> Iterator[GnuPG]:
    home = GnuPG()
    try:
        yield home
    finally:
        home.close()


def pin(gnupg: GnuPG, key: GpgKey) -> PinnedCertificate:
    return PinnedCertificate(key_id=key.key_id, certificate=gnupg.export(key))


def check(
    gnupg: GnuPG, key: GpgKey, signature: bytes, *, data: bytes = DATA
) -> SignatureVerdict:
    return verify_signature(data, signature, [pin(gnupg, key)], now=datetime.now(UTC))


def rejected(
    signers: list[PinnedCertificate], signature: bytes, *, data: bytes = DATA
) -> SignatureError:
    with pytest.raises(SignatureError) as info:
        verify_signature(data, signature, signers, now=datetime.now(UTC))
    return info.value


# --- accepted, as GnuPG accepts them ---------------------------------------


@pytest.mark.parametrize(
    ("algo", "hash_name"),
    [("ed25519", "SHA256"), ("rsa3072", "SHA512")],
    ids=["ed25519", "rsa3072"],
)
def test_verify_primary_key_signature(gnupg: GnuPG, algo: str, hash_name: str) -> None:
    key = gnupg.generate_key(f"Signer {algo} <{algo}@example.test>", algo=algo)
    signature = gnupg.sign(key, DATA)

    verdict = check(gnupg, key, signature)

    assert gnupg.verify(gnupg.export(key), DATA, signature).good
    assert verdict.fingerprint == key.fingerprint
    assert verdict.signing_key == key.fingerprint
    assert verdict.key_id == key.key_id
    assert verdict.hash_algorithm == hash_name
    assert verdict.key_expired_at is None
    assert abs(verdict.signed_at - NOW) < timedelta(minutes=5)


def test_verify_signing_subkey_reports_primary(gnupg: GnuPG) -> None:
    """A certify-only primary pinned, its signing subkey signs: primary reported."""
    key = gnupg.generate_key(
        "Sub <sub@example.test>", usage="cert", signing_subkey="ed25519"
    )
    signature = gnupg.sign(key, DATA)

    verdict = check(gnupg, key, signature)

    gpg = gnupg.verify(gnupg.export(key), DATA, signature)
    assert gpg.good
    assert verdict.fingerprint == key.fingerprint
    assert verdict.signing_key != key.fingerprint


def test_verify_pin_by_full_fingerprint(gnupg: GnuPG) -> None:
    key = gnupg.generate_key("Full <full@example.test>")
    signer = PinnedCertificate(key_id=key.fingerprint, certificate=gnupg.export(key))

    verdict = verify_signature(
        DATA, gnupg.sign(key, DATA), [signer], now=datetime.now(UTC)
    )

    assert verdict.fingerprint == key.fingerprint


def test_verify_expired_since_signing_accepted(gnupg: GnuPG) -> None:
    """
    The pinned copy expired after the signature was made: accepted and reported.

    The maintainer's refreshed copy, extended before signing, passes plainly.
    """
    made = NOW - 10 * DAY
    key = gnupg.generate_key("Exp <exp@example.test>", expire="2d", at=made)
    pinned_copy = gnupg.export(key)
    gnupg.set_expiry(key, "1y", at=made + DAY)
    refreshed_copy = gnupg.export(key)
    signature = gnupg.sign(key, DATA, at=made + DAY + timedelta(hours=1))
    old = PinnedCertificate(key_id=key.key_id, certificate=pinned_copy)
    new = PinnedCertificate(key_id=key.key_id, certificate=refreshed_copy)

    verdict = verify_signature(DATA, signature, [old], now=datetime.now(UTC))
    refreshed = verify_signature(DATA, signature, [new], now=datetime.now(UTC))

    gpg = gnupg.verify(pinned_copy, DATA, signature)
    assert gpg.good
    assert "EXPKEYSIG" in gpg.keywords
    assert verdict.key_expired_at is not None
    assert verdict.signed_at < verdict.key_expired_at < NOW
    assert abs(verdict.key_expired_at - (made + 2 * DAY)) < timedelta(minutes=1)
    assert "GOODSIG" in gnupg.verify(refreshed_copy, DATA, signature).keywords
    assert refreshed.key_expired_at is None


def test_verify_copy_refreshed_after_signing(gnupg: GnuPG) -> None:
    """GnuPG accepts; sequoia finds no self-signature from signing time: rejected."""
    made = NOW - 10 * DAY
    key = gnupg.generate_key("Refresh <refresh@example.test>", expire="2d", at=made)
    signature = gnupg.sign(key, DATA, at=made + DAY)
    gnupg.set_expiry(key, "1y")

    error = rejected([pin(gnupg, key)], signature)

    assert "GOODSIG" in gnupg.verify(gnupg.export(key), DATA, signature).keywords
    assert "has no self-signature from before the signature" in str(error)


def test_verify_expired_subkey_signed_while_valid(gnupg: GnuPG) -> None:
    made = NOW - 10 * DAY
    key = gnupg.generate_key(
        "ExpSub <expsub@example.test>",
        usage="cert",
        signing_subkey="ed25519",
        subkey_expire="2d",
        at=made,
    )
    signature = gnupg.sign(key, DATA, at=made + DAY)

    verdict = check(gnupg, key, signature)

    assert gnupg.verify(gnupg.export(key), DATA, signature).good
    assert verdict.fingerprint == key.fingerprint
    assert verdict.signing_key != key.fingerprint
    assert verdict.key_expired_at is not None


def test_verify_expired_subkey_signed_after_expiry(gnupg: GnuPG) -> None:
    """GnuPG calls this good with an expired-key note; it is rejected here."""
    made = NOW - 10 * DAY
    key = gnupg.generate_key(
        "LateSub <latesub@example.test>",
        usage="cert",
        signing_subkey="ed25519",
        at=made,
    )
    signature = gnupg.sign(key, DATA, at=made + 5 * DAY)
    subkey = gnupg.subkey_fingerprints(key)[0]
    gnupg.set_subkey_expiry(key, subkey, "2d", at=made + DAY)

    error = rejected([pin(gnupg, key)], signature)

    gpg = gnupg.verify(gnupg.export(key), DATA, signature)
    assert gpg.good
    assert "EXPKEYSIG" in gpg.keywords
    assert error.rejections[0].signed_by == subkey
    assert "signature made after the key expired at" in str(error)


def test_verify_multi_signature_one_allowed(gnupg: GnuPG) -> None:
    """An .asc with two signatures passes when either signer is allowed."""
    first = gnupg.generate_key("First <first@example.test>")
    second = gnupg.generate_key("Second <second@example.test>", algo="rsa3072")
    signature = gnupg.check(
        "-u",
        first.fingerprint,
        "-u",
        second.fingerprint,
        "--detach-sign",
        "--armor",
        stdin=DATA,
    )

    by_second = check(gnupg, second, signature)
    by_first = check(gnupg, first, signature)

    assert by_second.fingerprint == second.fingerprint
    assert by_first.fingerprint == first.fingerprint


# --- rejected ---------------------------------------------------------------


def test_verify_other_signer_not_allowed(gnupg: GnuPG) -> None:
    """Signed by B while only A is pinned; once B is allowed, the same file passes."""
    key_a = gnupg.generate_key("A <a@example.test>")
    key_b = gnupg.generate_key("B <b@example.test>")
    signature = gnupg.sign(key_b, DATA)

    error = rejected([pin(gnupg, key_a)], signature)

    assert not gnupg.verify(gnupg.export(key_a), DATA, signature).good
    assert f"signed by {key_b.fingerprint}, not in the allowed set (" in str(error)
    assert error.rejections[0].signed_by == key_b.fingerprint
    verdict = verify_signature(
        DATA, signature, [pin(gnupg, key_a), pin(gnupg, key_b)], now=datetime.now(UTC)
    )
    assert verdict.fingerprint == key_b.fingerprint


def test_verify_multi_signature_none_allowed(gnupg: GnuPG) -> None:
    first = gnupg.generate_key("One <one@example.test>")
    second = gnupg.generate_key("Two <two@example.test>")
    third = gnupg.generate_key("Three <three@example.test>")
    signature = gnupg.check(
        "-u",
        first.fingerprint,
        "-u",
        second.fingerprint,
        "--detach-sign",
        "--armor",
        stdin=DATA,
    )

    error = rejected([pin(gnupg, third)], signature)

    assert [r.signed_by for r in error.rejections] == [
        first.fingerprint,
        second.fingerprint,
    ]


def test_verify_tampered_data(gnupg: GnuPG) -> None:
    key = gnupg.generate_key("Tamper <tamper@example.test>")
    signature = gnupg.sign(key, DATA)

    error = rejected([pin(gnupg, key)], signature, data=DATA + b"extra\n")

    assert not gnupg.verify(gnupg.export(key), DATA + b"extra\n", signature).good
    assert "data or the signature was altered" in str(error)
    assert error.document == "SHA256SUMS"


def test_verify_no_signing_flag(gnupg: GnuPG) -> None:
    key = gnupg.generate_key("NoSign <nosign@example.test>")
    signature = gnupg.sign(key, DATA)
    gnupg.drop_signing_flag(key)

    error = rejected([pin(gnupg, key)], signature)

    assert not gnupg.verify(gnupg.export(key), DATA, signature).good
    assert f"key {key.fingerprint} is not marked for signing" in str(error)


def test_verify_signed_after_expiry(gnupg: GnuPG) -> None:
    """GnuPG 2.2 calls this good with an expired-key note; it is rejected here."""
    made = NOW - 10 * DAY
    key = gnupg.generate_key("Late <late@example.test>", at=made)
    signature = gnupg.sign(key, DATA, at=made + 5 * DAY)
    gnupg.set_expiry(key, "2d", at=made + DAY)

    error = rejected([pin(gnupg, key)], signature)

    gpg = gnupg.verify(gnupg.export(key), DATA, signature)
    assert gpg.good
    assert "EXPKEYSIG" in gpg.keywords
    assert "signature made after the key expired at" in str(error)


def test_verify_sha1_signature(gnupg: GnuPG) -> None:
    """GnuPG 2.2 accepts a SHA-1 data signature without a warning; rejected here."""
    key = gnupg.generate_key("Sha1 <sha1@example.test>", algo="rsa3072")
    signature = gnupg.sign(key, DATA, digest_algo="SHA1")

    error = rejected([pin(gnupg, key)], signature)

    assert gnupg.verify(gnupg.export(key), DATA, signature).good
    assert error.rejections[0].hash_algorithm == "SHA1"
    assert "hash algorithm SHA1 is rejected by policy" in str(error)


def test_verify_sha1_key_binding(gnupg: GnuPG) -> None:
    """SHA-1 self-signatures: GnuPG accepts, the binding is rejected by policy here."""
    key = gnupg.generate_key(
        "Sha1Bind <sha1bind@example.test>", algo="rsa3072", cert_digest_algo="SHA1"
    )
    signature = gnupg.sign(key, DATA)

    error = rejected([pin(gnupg, key)], signature)

    assert gnupg.verify(gnupg.export(key), DATA, signature).good
    assert f"key binding of {key.fingerprint} rejected by policy" in str(error)
    assert "SHA1" in str(error)


def test_verify_revoked_key(gnupg: GnuPG) -> None:
    """GnuPG 2.2 reports a good signature by a revoked key with a warning."""
    key = gnupg.generate_key("Revoked <revoked@example.test>")
    signature = gnupg.sign(key, DATA)
    gnupg.revoke(key)

    error = rejected([pin(gnupg, key)], signature)

    gpg = gnupg.verify(gnupg.export(key), DATA, signature)
    assert gpg.good
    assert "REVKEYSIG" in gpg.keywords
    assert f"signed by {key.fingerprint}, key is revoked (" in str(error)


def test_verify_future_dated_signature(gnupg: GnuPG) -> None:
    key = gnupg.generate_key("Future <future@example.test>")
    signature = gnupg.sign(key, DATA, at=NOW + 2 * DAY)

    error = rejected([pin(gnupg, key)], signature)

    assert "dated after the verification time" in str(error)
    assert error.rejections[0].signed_at is not None
    assert error.rejections[0].signed_at > NOW + DAY


def test_verify_future_check_uses_given_time(gnupg: GnuPG) -> None:
    key = gnupg.generate_key("Clock <clock@example.test>")
    signature = gnupg.sign(key, DATA)

    with pytest.raises(SignatureError, match="dated after the verification time"):
        verify_signature(DATA, signature, [pin(gnupg, key)], now=NOW - DAY)


def test_verify_spliced_subkey(gnupg: GnuPG) -> None:
    """A subkey bound by another primary, attached to the pinned certificate."""
    pinned = gnupg.generate_key(
        "Pinned <pinned@example.test>", usage="cert", signing_subkey="ed25519"
    )
    donor = gnupg.generate_key(
        "Donor <donor@example.test>", usage="cert", signing_subkey="ed25519"
    )
    donor_packets = list(PacketPile.from_bytes(gnupg.export(donor)))
    start = next(i for i, p in enumerate(donor_packets) if p.tag == Tag.PublicSubkey)
    spliced = bytes(Cert.from_bytes(gnupg.export(pinned))) + b"".join(
        bytes(p) for p in donor_packets[start:]
    )
    subkey = (donor_packets[start].fingerprint or "").upper()
    signature = gnupg.sign(donor, DATA, signer=f"{subkey}!")
    signer = PinnedCertificate(key_id=pinned.key_id, certificate=spliced)

    error = rejected([signer], signature)

    assert not gnupg.verify(spliced, DATA, signature).good
    assert error.rejections[0].signed_by == subkey
    assert "not validly bound" in str(error)


def test_verify_trust_root_lacks_key(gnupg: GnuPG) -> None:
    key = gnupg.generate_key("Here <here@example.test>")
    other = gnupg.generate_key("There <there@example.test>")
    signer = PinnedCertificate(key_id=other.key_id, certificate=gnupg.export(key))

    with pytest.raises(
        TrustRootError, match="contains no primary key with this id"
    ) as info:
        verify_signature(DATA, gnupg.sign(key, DATA), [signer], now=datetime.now(UTC))

    assert info.value.key_id == other.key_id


def test_verify_trust_root_not_openpgp() -> None:
    signer = PinnedCertificate(
        key_id="E14F08B8908ED6E8", certificate=b"<html>not a key</html>"
    )

    with pytest.raises(TrustRootError, match="not an OpenPGP certificate") as info:
        verify_signature(DATA, b"", [signer], now=datetime.now(UTC))

    assert info.value.__cause__ is not None


def test_verify_signature_not_openpgp(gnupg: GnuPG) -> None:
    key = gnupg.generate_key("Garbage <garbage@example.test>")

    error = rejected([pin(gnupg, key)], b"tampered signature")

    assert "not an OpenPGP signature file" in str(error)
    assert error.__cause__ is not None


def test_verify_key_file_with_several_certificates(gnupg: GnuPG) -> None:
    """A trust-root file such as ``<user>.gpg`` may carry several keys."""
    wanted = gnupg.generate_key("Wanted <wanted@example.test>")
    extra = gnupg.generate_key("Extra <extra@example.test>")
    keyring = gnupg.export(extra) + gnupg.export(wanted)
    signer = PinnedCertificate(key_id=wanted.key_id, certificate=keyring)

    verdict = verify_signature(
        DATA, gnupg.sign(wanted, DATA), [signer], now=datetime.now(UTC)
    )

    assert verdict.fingerprint == wanted.fingerprint
