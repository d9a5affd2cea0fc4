"""
Managed runtime bundle catalog: wire types, loading, and the selection policy.

Selection reports every failed rule at once. It is stricter than the original
policy in five ways. Pre-release versions compare in SemVer order, so they
cannot slip under a minimum. ``supported_targets`` may list only the artifact's
own os/arch, and the requested target must be that pair. Bundle ids may not
collide with the installer's own directories or repeat in the catalog. Both
the catalog's ``minimum_version`` and the bundle's ``min_supported_version``
apply.

Extension: ``additional_signers`` lets a bundle accept signatures from further
release managers' keys besides ``signature_key_id``, each pinned to a trust
root entry by key id and digest. Go decoders ignore the unknown key.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import attrs

from .. import _converter
from .._bundle_rules import bundle_problems
from .._textrules import identifier_problems
from .._wire import OMIT_EMPTY, ManagedRuntimeBundleDescriptor
from ._errors import CatalogPolicyError, CatalogReadError
from ._semver import parse_version

if TYPE_CHECKING:
    from pathlib import Path

EXPIRY_HINT = (
    "re-verify the upstream objects with the packaging command and install the "
    "refreshed catalog it writes"
)


@attrs.frozen(kw_only=True)
class ManagedRuntimeTrustRoot:
    """A pinned OpenPGP certificate file: the key it contains and the file's digest."""

    key_id: str = ""
    name: str = ""
    url: str = attrs.field(default="", metadata=OMIT_EMPTY)
    digest: str = ""
    issuer: str = attrs.field(default="", metadata=OMIT_EMPTY)


@attrs.frozen(kw_only=True)
class ManagedRuntimeAdditionalSigner:
    """A further key allowed to sign one bundle's checksum file, with its trust root."""

    bundle_id: str = ""
    key_id: str = ""
    trust_root_digest: str = ""


@attrs.frozen(kw_only=True)
class ManagedRuntimeBundleCatalog:
    """The catalog file: pinned bundles, their trust roots and catalog-wide policy."""

    release_tag: str = attrs.field(default="", metadata=OMIT_EMPTY)
    source_base_url: str = attrs.field(default="", metadata=OMIT_EMPTY)
    generated_at: datetime | None = None
    # None is Go's nil slice, written as null.
    bundles: tuple[ManagedRuntimeBundleDescriptor, ...] | None = None
    trust_roots: tuple[ManagedRuntimeTrustRoot, ...] = attrs.field(
        default=(), metadata=OMIT_EMPTY
    )
    blocked_versions: tuple[str, ...] = attrs.field(default=(), metadata=OMIT_EMPTY)
    revoked_key_ids: tuple[str, ...] = attrs.field(default=(), metadata=OMIT_EMPTY)
    minimum_version: str = attrs.field(default="", metadata=OMIT_EMPTY)
    stable_signing_key: str = attrs.field(default="", metadata=OMIT_EMPTY)
    additional_signers: tuple[ManagedRuntimeAdditionalSigner, ...] = attrs.field(
        default=(), metadata=OMIT_EMPTY
    )


@attrs.frozen(kw_only=True)
class AllowedSigner:
    """A key allowed to sign a bundle's checksum file, and its pinned certificate."""

    key_id: str
    trust_root: ManagedRuntimeTrustRoot


@attrs.frozen(kw_only=True)
class BundleSelection:
    """A bundle that passed the catalog policy, with every signer it accepts."""

    bundle: ManagedRuntimeBundleDescriptor
    signers: tuple[AllowedSigner, ...]


def load_bundle_catalog(path: Path) -> ManagedRuntimeBundleCatalog:
    """
    Read and strictly structure a catalog file.

    :raises CatalogReadError: when the file cannot be read.
    :raises DocumentError: listing every malformed value with its JSON path.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise CatalogReadError(path=str(path), reason=reason) from exc

    return _converter.structure_json(
        data, ManagedRuntimeBundleCatalog, document=f"managed runtime catalog {path}"
    )


def select_bundle(
    catalog: ManagedRuntimeBundleCatalog,
    bundle_id: str,
    *,
    target_os: str,
    target_arch: str,
    now: datetime,
) -> BundleSelection:
    """
    Find a bundle by id and check it against the catalog policy at ``now``.

    :param target_os: the host's Go OS name, such as ``linux``.
    :param target_arch: the host's Go architecture name, such as ``amd64``.
    :param now: the validation time; it must be timezone-aware.
    :raises CatalogPolicyError: listing every failed rule.
    """
    if now.tzinfo is None:
        msg = "now must be a timezone-aware datetime"
        raise ValueError(msg)

    index, bundle = _find_bundle(catalog, bundle_id)
    where = f" @ $.bundles[{index}]"
    problems = [problem + where for problem in bundle_problems(bundle, now=now)]
    problems += _policy_problems(catalog, bundle)
    problems += _target_problems(bundle, target_os, target_arch, where)
    signers, signer_problems = _allowed_signers(catalog, bundle)
    problems += signer_problems
    if problems:
        expired = bundle.valid_until is not None and bundle.valid_until <= now
        hint = EXPIRY_HINT if expired else None
        raise CatalogPolicyError(bundle_id=bundle_id, problems=problems, hint=hint)

    return BundleSelection(bundle=bundle, signers=signers)


def days_until_expiry(
    bundle: ManagedRuntimeBundleDescriptor, now: datetime
) -> int | None:
    """
    Return the whole days left before ``valid_until``, or ``None`` when unset.

    A bundle expiring later today returns 0, and an expired one a negative count.
    """
    if bundle.valid_until is None:
        return None

    return math.floor((bundle.valid_until - now) / timedelta(days=1))


def object_url(base_url: str, name: str) -> str:
    """Return the URL of ``name`` under ``base_url`` (just ``name`` if it is blank)."""
    base = base_url.strip().rstrip("/")
    return f"{base}/{name}" if base else name


def is_reserved_bundle_id(bundle_id: str) -> bool:
    """Return whether ``bundle_id`` collides with the installer's own directories."""
    return bundle_id.startswith(".") or bundle_id.endswith((".previous", ".old"))


def _find_bundle(
    catalog: ManagedRuntimeBundleCatalog, bundle_id: str
) -> tuple[int, ManagedRuntimeBundleDescriptor]:
    problems = identifier_problems("bundle_id", bundle_id)
    if is_reserved_bundle_id(bundle_id):
        problems.append(
            "bundle_id must not start with '.' or end with '.previous' or '.old', "
            "which the installer keeps for its own directories"
        )
    matches = [
        (index, bundle)
        for index, bundle in enumerate(catalog.bundles or ())
        if bundle.bundle_id == bundle_id
    ]
    if not problems and not matches:
        problems.append("bundle not found in the catalog")
    if len(matches) > 1:
        places = ", ".join(f"$.bundles[{index}]" for index, _ in matches)
        problems.append(f"bundle id listed more than once, at {places}")
    if problems:
        raise CatalogPolicyError(bundle_id=bundle_id, problems=problems)

    return matches[0]


def _policy_problems(
    catalog: ManagedRuntimeBundleCatalog, bundle: ManagedRuntimeBundleDescriptor
) -> list[str]:
    problems = []
    blocked = (
        *catalog.blocked_versions,
        *bundle.update_policy.blocked_versions,
        *bundle.cve_policy.blocked_versions,
    )
    if bundle.version in blocked:
        problems.append(f"version {bundle.version!r} is blocked")
    if _is_revoked(catalog, bundle, bundle.signature_key_id):
        problems.append(f"signing key {bundle.signature_key_id!r} is revoked")
    problems += _minimum_problems(catalog, bundle)
    stable = catalog.stable_signing_key
    if stable and stable.upper() != bundle.signature_key_id.upper():
        problems.append(
            f"signing key {bundle.signature_key_id!r} does not match "
            f"stable signing key {stable!r} @ $.stable_signing_key"
        )

    return problems


def _is_revoked(
    catalog: ManagedRuntimeBundleCatalog,
    bundle: ManagedRuntimeBundleDescriptor,
    key_id: str,
) -> bool:
    revoked = (*catalog.revoked_key_ids, *bundle.cve_policy.revoked_key_ids)
    return key_id.upper() in {item.upper() for item in revoked}


def _minimum_problems(
    catalog: ManagedRuntimeBundleCatalog, bundle: ManagedRuntimeBundleDescriptor
) -> list[str]:
    version = parse_version(bundle.version)
    if version is None:
        return [f"version {bundle.version!r} is not a semantic version"]

    problems = []
    floors = (
        ("$.minimum_version", catalog.minimum_version),
        (
            "update_policy.min_supported_version",
            bundle.update_policy.min_supported_version,
        ),
    )
    for where, text in floors:
        if not text.strip():
            continue
        floor = parse_version(text)
        if floor is None:
            problems.append(f"minimum {text!r} at {where} is not a semantic version")
        elif version < floor:
            problems.append(f"version {bundle.version!r} is below minimum {text!r}")

    return problems


def _target_problems(
    bundle: ManagedRuntimeBundleDescriptor, target_os: str, target_arch: str, where: str
) -> list[str]:
    problems = []
    # An artifact is built for one os/arch, so any other listed pair is a mistake
    # that would let the bundle be installed and probed on the wrong host.
    for index, target in enumerate(bundle.supported_targets or ()):
        if (target.os, target.arch) != (bundle.os, bundle.arch):
            problems.append(
                f"supported_targets[{index}] {target.os}/{target.arch} does not "
                f"match the artifact's os/arch {bundle.os}/{bundle.arch}{where}"
            )
    wanted = (target_os.strip(), target_arch.strip())
    if wanted != (bundle.os, bundle.arch):
        problems.append(
            f"target {wanted[0]}/{wanted[1]} does not match the artifact's os/arch "
            f"{bundle.os}/{bundle.arch}{where}"
        )

    return problems


def _allowed_signers(
    catalog: ManagedRuntimeBundleCatalog, bundle: ManagedRuntimeBundleDescriptor
) -> tuple[tuple[AllowedSigner, ...], list[str]]:
    pins = [(bundle.signature_key_id, bundle.trust_root_digest)]
    # A revoked further signer is dropped rather than failing the bundle, so that
    # revoking one release manager's key leaves the others usable.
    pins += [
        (extra.key_id, extra.trust_root_digest)
        for extra in catalog.additional_signers
        if extra.bundle_id == bundle.bundle_id
        and not _is_revoked(catalog, bundle, extra.key_id)
    ]
    signers: list[AllowedSigner] = []
    problems: list[str] = []
    for key_id, digest in pins:
        root = _trust_root(catalog, key_id, digest)
        if root is None:
            problems.append(
                f"no trust root for signing key {key_id!r} with digest {digest!r}"
            )
        elif not root.name.strip():
            problems.append(f"trust root for signing key {key_id!r} has no object name")
        else:
            signers.append(AllowedSigner(key_id=key_id, trust_root=root))

    return tuple(signers), problems


def _trust_root(
    catalog: ManagedRuntimeBundleCatalog, key_id: str, digest: str
) -> ManagedRuntimeTrustRoot | None:
    for root in catalog.trust_roots:
        if root.key_id.upper() == key_id.upper() and root.digest == digest:
            return root

    return None
