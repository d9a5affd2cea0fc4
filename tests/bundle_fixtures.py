"""
Real parts for bundle tests: GnuPG keys, nerdctl-full shaped archives, signed
releases, catalogs pinning them, and a loopback HTTP mirror with fault knobs.

Test modules import the pytest fixtures they use by name, for example
``from bundle_fixtures import gnupg  # noqa: F401``.
Code that touches the mirror is asyncio-only, so such modules also define an
``anyio_backend`` fixture returning ``"asyncio"``.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import anyio
import attrs
import pytest
from aiohttp import web

GPG = "gpg"
SEED_BUNDLE_ID = "managed-containerd-linux-amd64"
SCOPED_STORE_DIGEST = "sha256:" + "5" * 64
CVE_POLICY_DIGEST = "sha256:" + "6" * 64


def sha256_digest(data: bytes) -> str:
    """Return ``sha256:<hex>`` of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --- GnuPG -----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class GpgKey:
    """A key made by GnuPG: primary fingerprint (upper-case hex) and user id."""

    fingerprint: str
    uid: str

    @property
    def key_id(self) -> str:
        """Return the 64-bit key id of the primary key, as catalogs pin it."""
        return self.fingerprint[-16:]


@attrs.frozen(kw_only=True)
class GpgVerdict:
    """The status keywords ``gpg --verify`` printed, and its exit code."""

    keywords: tuple[str, ...]
    returncode: int

    @property
    def good(self) -> bool:
        """Return True when gpg found a valid signature, with or without warnings."""
        return "VALIDSIG" in self.keywords


def _epoch(when: datetime) -> str:
    return f"{int(when.timestamp())}!"


class GnuPG:
    """A GnuPG home in a short temporary directory (agent sockets need short paths)."""

    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="wfcg", dir="/tmp"))

    def close(self) -> None:
        """Stop this home's agent and remove the directory."""
        env = {**os.environ, "GNUPGHOME": str(self.home)}
        subprocess.run(["gpgconf", "--kill", "all"], env=env, check=False)
        shutil.rmtree(self.home, ignore_errors=True)

    def run(
        self, *args: str, at: datetime | None = None, stdin: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """Run gpg in batch mode on this home; ``at`` fakes the system time."""
        argv = [GPG, "--batch", "--pinentry-mode", "loopback", "--passphrase", ""]
        if at is not None:
            argv += ["--faked-system-time", _epoch(at)]

        env = {**os.environ, "GNUPGHOME": str(self.home)}
        return subprocess.run(
            [*argv, *args], env=env, input=stdin, capture_output=True, check=False
        )

    def check(
        self, *args: str, at: datetime | None = None, stdin: bytes | None = None
    ) -> bytes:
        """Run gpg like :meth:`run` and fail the test when it exits non-zero."""
        done = self.run(*args, at=at, stdin=stdin)
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout

    def generate_key(
        self,
        uid: str,
        *,
        algo: str = "ed25519",
        usage: str = "sign,cert",
        expire: str = "never",
        signing_subkey: str | None = None,
        subkey_expire: str | None = None,
        at: datetime | None = None,
        cert_digest_algo: str | None = None,
    ) -> GpgKey:
        """
        Make a key; ``signing_subkey`` (an algorithm) adds a signing subkey.

        Give ``usage="cert"`` with a subkey for a certify-only primary, and
        ``cert_digest_algo="SHA1"`` for SHA-1 binding signatures. The subkey
        expires with ``subkey_expire``, or with ``expire`` when that is unset.
        """
        extra = (
            () if cert_digest_algo is None else ("--cert-digest-algo", cert_digest_algo)
        )
        self.check(*extra, "--quick-gen-key", uid, algo, usage, expire, at=at)
        fingerprint = self.fingerprint(uid)
        if signing_subkey is not None:
            self.check(
                *extra,
                "--quick-add-key",
                fingerprint,
                signing_subkey,
                "sign",
                subkey_expire or expire,
                at=at,
            )

        return GpgKey(fingerprint=fingerprint, uid=uid)

    def fingerprint(self, uid: str) -> str:
        """Return the primary fingerprint of the key with user id ``uid``."""
        out = self.check("--with-colons", "--list-keys", uid).decode()
        return next(
            line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:")
        )

    def subkey_fingerprints(self, key: GpgKey) -> list[str]:
        """Return the fingerprints of ``key``'s subkeys, in key-ring order."""
        out = self.check("--with-colons", "--list-keys", key.fingerprint).decode()
        lines = out.splitlines()
        return [
            line.split(":")[9]
            for previous, line in itertools.pairwise(lines)
            if previous.startswith("sub:") and line.startswith("fpr:")
        ]

    def set_subkey_expiry(
        self, key: GpgKey, subkey: str, expire: str, *, at: datetime | None = None
    ) -> None:
        """Set a new expiry on one subkey, with the binding dated ``at``."""
        self.check("--quick-set-expire", key.fingerprint, expire, subkey, at=at)

    def export(self, key: GpgKey) -> bytes:
        """Return the armored public certificate of ``key``."""
        return self.check("--armor", "--export", key.fingerprint)

    def sign(
        self,
        key: GpgKey,
        data: bytes,
        *,
        at: datetime | None = None,
        digest_algo: str | None = None,
        signer: str | None = None,
    ) -> bytes:
        """Return an armored detached signature over ``data`` (``gpg -ab``)."""
        extra = () if digest_algo is None else ("--digest-algo", digest_algo)
        user = signer or key.fingerprint
        return self.check(
            *extra, "-u", user, "--detach-sign", "--armor", at=at, stdin=data
        )

    def revoke(self, key: GpgKey) -> None:
        """Import the revocation certificate GnuPG stored when it made ``key``."""
        stored = (self.home / "openpgp-revocs.d" / f"{key.fingerprint}.rev").read_text()
        # GnuPG prefixes the armor header with ":" so that an accidental import fails.
        self.check(
            "--import", stdin=stored.replace(":-----BEGIN", "-----BEGIN").encode()
        )

    def drop_signing_flag(self, key: GpgKey) -> None:
        """Change the primary key's usage to certify-only."""
        self.check(
            "--expert",
            "--command-fd",
            "0",
            "--edit-key",
            key.fingerprint,
            stdin=b"change-usage\nS\nQ\nsave\n",
        )

    def set_expiry(
        self, key: GpgKey, expire: str, *, at: datetime | None = None
    ) -> None:
        """Set a new expiry on the primary key, with the self-signature dated ``at``."""
        self.check("--quick-set-expire", key.fingerprint, expire, at=at)

    def verify(self, certificate: bytes, data: bytes, signature: bytes) -> GpgVerdict:
        """Verify with ``gpg --verify`` in a fresh home holding only ``certificate``."""
        other = GnuPG()
        try:
            other.check("--import", stdin=certificate)
            with tempfile.TemporaryDirectory(dir="/tmp") as scratch:
                sig_path = Path(scratch, "data.asc")
                data_path = Path(scratch, "data")
                sig_path.write_bytes(signature)
                data_path.write_bytes(data)
                done = other.run(
                    "--status-fd", "1", "--verify", str(sig_path), str(data_path)
                )
        finally:
            other.close()

        keywords = tuple(
            line.split()[1]
            for line in done.stdout.decode().splitlines()
            if line.startswith("[GNUPG:] ")
        )
        return GpgVerdict(keywords=keywords, returncode=done.returncode)


# --- archives --------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ArchiveMember:
    """One tar member: ``target`` is the link name of a symlink or hard link."""

    name: str
    kind: Literal["file", "dir", "symlink", "hardlink", "fifo"] = "file"
    data: bytes = b""
    mode: int = 0o644
    target: str = ""


_TAR_TYPES = {
    "file": tarfile.REGTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
    "fifo": tarfile.FIFOTYPE,
}
# nerdctl-full's reproducible builds date some members 2015-10-21.
_MTIME = int(datetime(2015, 10, 21, tzinfo=UTC).timestamp())


def filler_bytes(size: int) -> bytes:
    """Return ``size`` deterministic bytes that do not compress."""
    blocks = (
        hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(size // 32 + 1)
    )
    return b"".join(blocks)[:size]


def fake_command(output: str) -> bytes:
    """Return a shell script that prints ``output`` and exits 0."""
    return f"#!/bin/sh\necho '{output}'\n".encode()


def nerdctl_full_members(
    version: str = "2.3.1", *, dot_prefix: bool = False
) -> list[ArchiveMember]:
    """
    Return members shaped like a nerdctl-full release, in its order.

    Names are bare as in real releases; ``dot_prefix`` gives the ``./`` form
    with a ``./`` root entry instead.
    """
    members = [
        ArchiveMember(name="bin/", kind="dir", mode=0o755),
        ArchiveMember(
            name="bin/buildkit-cni-bridge",
            kind="symlink",
            target="../libexec/cni/bridge",
        ),
        ArchiveMember(
            name="bin/buildkit-cni-loopback",
            kind="symlink",
            target="../libexec/cni/loopback",
        ),
        ArchiveMember(
            name="bin/containerd", data=fake_command("containerd v2.1.0"), mode=0o755
        ),
        # Incompressible, so the archive spans many transfer chunks.
        ArchiveMember(name="bin/ctr", data=filler_bytes(256 << 10), mode=0o755),
        ArchiveMember(
            name="bin/nerdctl",
            data=fake_command(f"nerdctl version {version}"),
            mode=0o755,
        ),
        ArchiveMember(name="libexec/", kind="dir", mode=0o755),
        ArchiveMember(name="libexec/cni/", kind="dir", mode=0o775),
        ArchiveMember(name="libexec/cni/LICENSE", data=b"Apache License 2.0\n"),
        ArchiveMember(name="libexec/cni/README.md", data=b"CNI plugins\n"),
        ArchiveMember(
            name="libexec/cni/bridge",
            data=fake_command("CNI bridge plugin"),
            mode=0o755,
        ),
        ArchiveMember(
            name="libexec/cni/loopback",
            data=fake_command("CNI loopback plugin"),
            mode=0o755,
        ),
        ArchiveMember(name="share/", kind="dir", mode=0o755),
        ArchiveMember(name="share/doc/", kind="dir", mode=0o755),
        ArchiveMember(name="share/doc/nerdctl-full/", kind="dir", mode=0o755),
        ArchiveMember(
            name="share/doc/nerdctl-full/README.md",
            data=f"# nerdctl-full {version}\n- containerd: v2.1.0\n".encode(),
        ),
    ]
    if not dot_prefix:
        return members

    prefixed = [attrs.evolve(member, name="./" + member.name) for member in members]
    return [ArchiveMember(name="./", kind="dir", mode=0o755), *prefixed]


def _add_member(archive: tarfile.TarFile, member: ArchiveMember) -> None:
    info = tarfile.TarInfo(member.name)
    info.type = _TAR_TYPES[member.kind]
    info.mode = member.mode
    info.mtime = _MTIME
    info.linkname = member.target
    if member.kind == "file":
        info.size = len(member.data)
        archive.addfile(info, io.BytesIO(member.data))
    else:
        archive.addfile(info)


def write_archive(
    path: Path, members: Sequence[ArchiveMember], *, padding: int = 0
) -> str:
    """
    Write a tar.gz of ``members`` to ``path`` and return its ``sha256:`` digest.

    ``padding`` adds ``share/doc/nerdctl-full/padding.bin`` of that many random
    bytes, written in 1 MiB pieces so that large bundles cost little memory.
    """
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as archive:
        for member in members:
            _add_member(archive, member)
        if padding:
            info = tarfile.TarInfo("share/doc/nerdctl-full/padding.bin")
            info.size = padding
            info.mtime = _MTIME
            archive.addfile(info, _RandomReader(padding))

    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


class _RandomReader(io.RawIOBase):
    """File-like source of ``size`` random bytes (incompressible, like binaries)."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        count = self.left if size < 0 else min(size, self.left)
        self.left -= count
        return os.urandom(count)


def build_archive(members: Sequence[ArchiveMember]) -> bytes:
    """Return the bytes of a tar.gz holding ``members`` in order."""
    buffer = io.BytesIO()
    with tarfile.open(
        fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT
    ) as archive:
        for member in members:
            _add_member(archive, member)
    return buffer.getvalue()


# --- releases and catalogs -------------------------------------------------


@attrs.frozen(kw_only=True)
class Release:
    """The objects of one signed release as a mirror serves them, keyed by name."""

    version: str
    os: str
    arch: str
    artifact_name: str
    artifact: bytes
    checksums: bytes
    signature: bytes
    trust_root: bytes
    trust_root_name: str
    key: GpgKey

    def objects(self) -> dict[str, bytes]:
        """Return every object by the file name a mirror serves it under."""
        return {
            self.artifact_name: self.artifact,
            "SHA256SUMS": self.checksums,
            "SHA256SUMS.asc": self.signature,
            self.trust_root_name: self.trust_root,
        }


def checksum_file(entries: Mapping[str, bytes | str]) -> bytes:
    """
    Return a GNU ``sha256sum`` file: ``<hex>  <name>`` lines in the given order.

    A ``bytes`` value is hashed; a ``str`` value is used as the hex digest as is.
    """
    lines = []
    for name, value in entries.items():
        hex_digest = (
            hashlib.sha256(value).hexdigest() if isinstance(value, bytes) else value
        )
        lines.append(f"{hex_digest}  {name}\n")
    return "".join(lines).encode()


def make_release(
    gnupg: GnuPG,
    key: GpgKey,
    *,
    version: str = "2.3.1",
    os_name: str = "linux",
    arch: str = "amd64",
    artifact: bytes | None = None,
    signed_at: datetime | None = None,
) -> Release:
    """Build a nerdctl-full shaped release whose SHA256SUMS ``key`` signs."""
    artifact_name = f"nerdctl-full-{version}-{os_name}-{arch}.tar.gz"
    payload = (
        artifact
        if artifact is not None
        else build_archive(nerdctl_full_members(version))
    )
    # Neighbours as in real releases: the name suffix matches more than one line.
    checksums = checksum_file(
        {
            f"nerdctl-{version}-{os_name}-{arch}.tar.gz": b"plain nerdctl",
            artifact_name: payload,
            f"{artifact_name}.sbom.json": b"sbom",
        }
    )
    return Release(
        version=version,
        os=os_name,
        arch=arch,
        artifact_name=artifact_name,
        artifact=payload,
        checksums=checksums,
        signature=gnupg.sign(key, checksums, at=signed_at),
        trust_root=gnupg.export(key),
        trust_root_name=f"{key.key_id}.gpg",
        key=key,
    )


def catalog_document(
    release: Release,
    *,
    base_url: str,
    bundle_id: str = SEED_BUNDLE_ID,
    valid_until: datetime | None = None,
    generated_at: datetime | None = None,
    trust_root_url: str = "",
    additional: Sequence[Release] = (),
) -> dict[str, object]:
    """
    Return a catalog JSON document pinning ``release``.

    Each release in ``additional`` (same objects, other signer) adds its key
    as a further allowed signer of the bundle, with its own trust root entry.
    """
    now = datetime.now(UTC).replace(microsecond=0)
    until = valid_until or now + timedelta(days=90)
    bundle = _bundle_document(release, bundle_id=bundle_id, valid_until=until)
    roots = [
        _trust_root_document(item, trust_root_url) for item in (release, *additional)
    ]
    document: dict[str, object] = {
        "release_tag": f"v{release.version}",
        "source_base_url": base_url,
        "generated_at": _rfc3339(generated_at or now),
        "bundles": [bundle],
        "trust_roots": roots,
        "minimum_version": f"v{release.version}",
        "stable_signing_key": release.key.key_id,
    }
    if additional:
        document["additional_signers"] = [
            {
                "bundle_id": bundle_id,
                "key_id": item.key.key_id,
                "trust_root_digest": sha256_digest(item.trust_root),
            }
            for item in additional
        ]
    return document


def _rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _trust_root_document(release: Release, url: str) -> dict[str, object]:
    root: dict[str, object] = {
        "key_id": release.key.key_id,
        "name": release.trust_root_name,
        "digest": sha256_digest(release.trust_root),
        "issuer": release.key.uid,
    }
    if url:
        root["url"] = url
    return root


def _bundle_document(
    release: Release, *, bundle_id: str, valid_until: datetime
) -> dict[str, object]:
    artifact_digest = sha256_digest(release.artifact)
    version = f"v{release.version}"
    return {
        "protocol_version": "compute.v1alpha1",
        "bundle_id": bundle_id,
        "family": "containerd",
        "tool": "nerdctl",
        "version": version,
        "os": release.os,
        "arch": release.arch,
        "artifact_name": release.artifact_name,
        "artifact_digest": artifact_digest,
        "checksum_name": "SHA256SUMS",
        "checksum_digest": sha256_digest(release.checksums),
        "signature_name": "SHA256SUMS.asc",
        "signature_digest": sha256_digest(release.signature),
        "signature_issuer": "containerd/nerdctl release",
        "signature_key_id": release.key.key_id,
        "trust_root_digest": sha256_digest(release.trust_root),
        "signature_subject": {
            "artifact_digest": artifact_digest,
            "runtime_family": "containerd",
            "os": release.os,
            "arch": release.arch,
            "version": version,
            "channel": "stable",
            "conformance_profile": "distroless-static-v1",
            "scoped_store_policy_digest": SCOPED_STORE_DIGEST,
        },
        "valid_until": _rfc3339(valid_until),
        "update_policy": {"channel": "stable", "min_supported_version": version},
        "cve_policy": {
            "policy_digest": CVE_POLICY_DIGEST,
            "updated_by_version": version,
        },
        "scoped_store": {
            "required": True,
            "namespace_strategy": "opaque-worker-pool-scope",
            "store_strategy": "workflow-owned-content-store",
            "policy_digest": SCOPED_STORE_DIGEST,
            "cleanup_required": True,
            "host_global_visibility_forbidden": True,
        },
        "supported_targets": [{"os": release.os, "arch": release.arch}],
        "conformance_profile": "distroless-static-v1",
        "install_burden": "bundled",
    }


def write_catalog(path: Path, document: Mapping[str, object]) -> Path:
    """Write ``document`` as indented JSON to ``path`` and return the path."""
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


# --- loopback mirror -------------------------------------------------------


@attrs.define(kw_only=True)
class Fault:
    """
    How the mirror misbehaves for one object.

    ``times`` limits the fault to the first N requests; the others are served well.

    - ``status``: answer this HTTP status with an empty body;
    - ``drop_after``: announce the full length, then close the connection after N bytes;
    - ``truncate_to``: serve only the first N bytes with a matching length;
    - ``replace_with``: serve these bytes instead of the object;
    - ``stall_after``/``stall``: after N bytes, pause ``stall`` seconds;
    - ``ignore_range``: answer 200 with the whole body to a Range request;
    - ``redirect_to``: answer 302 to this URL;
    - ``gzip_header``: add ``Content-Encoding: gzip`` without changing the bytes;
    - ``reject_auth``: answer 401 when the request carries ``Authorization``;
    - ``chunked``: send the body with chunked encoding and no length.
    """

    status: int | None = None
    drop_after: int | None = None
    truncate_to: int | None = None
    replace_with: bytes | None = None
    stall_after: int | None = None
    stall: float = 0.0
    ignore_range: bool = False
    redirect_to: str | None = None
    gzip_header: bool = False
    reject_auth: bool = False
    chunked: bool = False
    times: int | None = None


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """A request the mirror received: path and headers (names lower-cased)."""

    path: str
    headers: Mapping[str, str]


def _parse_range(header: str | None, size: int) -> int | None:
    if header is None or not header.startswith("bytes=") or "," in header:
        return None

    first, _, last = header[len("bytes=") :].partition("-")
    if not first.isdigit() or last not in ("", str(size - 1)):
        return None
    start = int(first)
    return start if start < size else None


class ObjectServer:
    """
    An aiohttp server on 127.0.0.1 serving named objects, with fault injection.

    Values in ``objects`` are bytes, or a ``Path`` streamed from disk in 1 MiB
    pieces. Every request is kept in ``requests``.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.objects: dict[str, bytes | Path] = {}
        self.faults: dict[str, Fault] = {}
        self.requests: list[RecordedRequest] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        """Return ``http://<host>:<port>`` of the running server."""
        return f"http://{self.host}:{self.port}"

    def url(self, name: str) -> str:
        """Return the URL of object ``name``."""
        return f"{self.base_url}/{name}"

    async def start(self) -> None:
        """Start listening on a free port of ``host``."""
        app = web.Application()
        app.router.add_get("/{name:.+}", self._handle)
        # A short shutdown timeout, so that a stalled handler cannot hold up teardown.
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def aclose(self) -> None:
        """Stop the server."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> ObjectServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _active_fault(self, name: str) -> Fault | None:
        fault = self.faults.get(name)
        if fault is None or fault.times == 0:
            return None
        if fault.times is not None:
            fault.times -= 1
        return fault

    def _body(self, name: str, fault: Fault | None) -> bytes | Path:
        value = self.objects[name]
        if fault is not None and fault.replace_with is not None:
            return fault.replace_with
        if fault is not None and fault.truncate_to is not None:
            data = value.read_bytes() if isinstance(value, Path) else value
            return data[: fault.truncate_to]
        return value

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        headers = {key.lower(): value for key, value in request.headers.items()}
        self.requests.append(RecordedRequest(path="/" + name, headers=headers))
        if name not in self.objects:
            return web.Response(status=404)

        fault = self._active_fault(name)
        early = _early_answer(fault, headers)
        if early is not None:
            return early
        return await self._stream(request, self._body(name, fault), fault)

    async def _stream(
        self, request: web.Request, body: bytes | Path, fault: Fault | None
    ) -> web.StreamResponse:
        size = await _size(body)
        ignore_range = fault is not None and fault.ignore_range
        start = (
            None if ignore_range else _parse_range(request.headers.get("Range"), size)
        )
        response = web.StreamResponse(status=200 if start is None else 206)
        if fault is not None and fault.chunked:
            response.enable_chunked_encoding()
        else:
            response.content_length = size - (start or 0)
        if start is not None:
            response.headers["Content-Range"] = f"bytes {start}-{size - 1}/{size}"
        if fault is not None and fault.gzip_header:
            response.headers["Content-Encoding"] = "gzip"

        await response.prepare(request)
        drop_at = None if fault is None else fault.drop_after
        stall_at = None if fault is None else fault.stall_after
        cuts = [cut for cut in (drop_at, stall_at) if cut is not None]
        sent = 0
        for piece in _split(_pieces(body, start or 0), cuts):
            if drop_at is not None and sent >= drop_at:
                assert request.transport is not None
                request.transport.close()
                return response
            if fault is not None and stall_at is not None and sent >= stall_at:
                await anyio.sleep(fault.stall)
                stall_at = None
            await response.write(piece)
            sent += len(piece)

        if drop_at is not None and sent >= drop_at:
            assert request.transport is not None
            request.transport.close()
            return response
        await response.write_eof()
        return response


async def _size(body: bytes | Path) -> int:
    if isinstance(body, bytes):
        return len(body)
    return (await anyio.Path(body).stat()).st_size


def _early_answer(
    fault: Fault | None, headers: Mapping[str, str]
) -> web.Response | None:
    if fault is None:
        return None
    if fault.reject_auth and "authorization" in headers:
        return web.Response(status=401)
    if fault.redirect_to is not None:
        return web.Response(status=302, headers={"Location": fault.redirect_to})
    if fault.status is not None:
        return web.Response(status=fault.status)
    return None


def _split(pieces: Iterator[bytes], cuts: Sequence[int]) -> Iterator[bytes]:
    """Split ``pieces`` so that no piece crosses one of the byte offsets in ``cuts``."""
    offset = 0
    for piece in pieces:
        rest = piece
        for cut in sorted(cut for cut in cuts if offset < cut < offset + len(piece)):
            head_size = cut - (offset + len(piece) - len(rest))
            yield rest[:head_size]
            rest = rest[head_size:]
        if rest:
            yield rest
        offset += len(piece)


def _pieces(body: bytes | Path, start: int) -> Iterator[bytes]:
    step = 1 << 16
    if isinstance(body, bytes):
        for offset in range(start, len(body), step):
            yield body[offset : offset + step]
        return

    with body.open("rb") as stream:
        stream.seek(start)
        yield from iter(lambda: stream.read(1 << 20), b"")


# --- pytest fixtures -------------------------------------------------------


@pytest.fixture
def gnupg() -> Iterator[GnuPG]:
    """Yield a fresh GnuPG home; its agent is stopped afterwards."""
    home = GnuPG()
    try:
        yield home
    finally:
        home.close()


@pytest.fixture
def release_key(gnupg: GnuPG) -> GpgKey:
    """Return an ed25519 release key that signs with its primary, like nerdctl's."""
    return gnupg.generate_key("Release Manager A <a@example.test>")


@pytest.fixture
def release(gnupg: GnuPG, release_key: GpgKey) -> Release:
    """Return a signed nerdctl-full 2.3.1 linux/amd64 release."""
    return make_release(gnupg, release_key)


@pytest.fixture
async def object_server(release: Release) -> AsyncIterator[ObjectServer]:
    """Yield a running loopback mirror serving ``release``'s objects."""
    async with ObjectServer() as server:
        server.objects.update(release.objects())
        yield server
