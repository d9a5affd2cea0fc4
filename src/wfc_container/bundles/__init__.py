"""
Managed containerd/nerdctl runtime bundles: verified install, doctor, uninstall.

Names that need aiohttp or the OpenPGP verifier (install, package, download
and signature checks) are imported on first use, so that the probe path,
which plans managed probes from this package, never loads either library.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._catalog import (
    AllowedSigner,
    BundleSelection,
    ManagedRuntimeBundleCatalog,
    ManagedRuntimeTrustRoot,
    days_until_expiry,
    load_bundle_catalog,
    select_bundle,
)
from ._doctor import doctor_bundle
from ._errors import (
    ArchiveReadError,
    BundleLockedError,
    CatalogPolicyError,
    CatalogReadError,
    ChecksumError,
    DigestMismatchError,
    DownloadError,
    HttpStatusError,
    InstallIOError,
    InstallRootError,
    InstallStateError,
    InstallTimeoutError,
    ObjectTooLargeError,
    SignatureError,
    TransferTimeoutError,
    TruncatedTransferError,
    TrustRootError,
    UnsafeArchiveError,
    UrlPolicyError,
)
from ._extract import ExtractLimits
from ._manifest import (
    DoctorResult,
    InstallManifest,
    InstallResult,
    ReinstallResult,
    UninstallResult,
)
from ._probe import ManagedProbePlan, plan_managed_probes
from ._uninstall import uninstall_bundle

if TYPE_CHECKING:
    from ._download import BundleFetcher, DownloadProgress, ProgressHook
    from ._install import InstallOptions, install_bundle, reinstall_bundle
    from ._package import PackageResult, package_bundle
    from ._verify import PinnedCertificate, SignatureVerdict, verify_signature

# Public name -> private module, imported on first attribute access.
_LAZY = {
    "BundleFetcher": "_download",
    "DownloadProgress": "_download",
    "InstallOptions": "_install",
    "PackageResult": "_package",
    "PinnedCertificate": "_verify",
    "ProgressHook": "_download",
    "SignatureVerdict": "_verify",
    "install_bundle": "_install",
    "package_bundle": "_package",
    "reinstall_bundle": "_install",
    "verify_signature": "_verify",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)

    value: object = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = (
    "AllowedSigner",
    "ArchiveReadError",
    "BundleFetcher",
    "BundleLockedError",
    "BundleSelection",
    "CatalogPolicyError",
    "CatalogReadError",
    "ChecksumError",
    "DigestMismatchError",
    "DoctorResult",
    "DownloadError",
    "DownloadProgress",
    "ExtractLimits",
    "HttpStatusError",
    "InstallIOError",
    "InstallManifest",
    "InstallOptions",
    "InstallResult",
    "InstallRootError",
    "InstallStateError",
    "InstallTimeoutError",
    "ManagedProbePlan",
    "ManagedRuntimeBundleCatalog",
    "ManagedRuntimeTrustRoot",
    "ObjectTooLargeError",
    "PackageResult",
    "PinnedCertificate",
    "ProgressHook",
    "ReinstallResult",
    "SignatureError",
    "SignatureVerdict",
    "TransferTimeoutError",
    "TruncatedTransferError",
    "TrustRootError",
    "UninstallResult",
    "UnsafeArchiveError",
    "UrlPolicyError",
    "days_until_expiry",
    "doctor_bundle",
    "install_bundle",
    "load_bundle_catalog",
    "package_bundle",
    "plan_managed_probes",
    "reinstall_bundle",
    "select_bundle",
    "uninstall_bundle",
    "verify_signature",
)
