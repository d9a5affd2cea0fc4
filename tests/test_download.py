"""Streaming downloads from a real aiohttp mirror on 127.0.0.1 with injected faults."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from bundle_fixtures import (
    Fault,
    GnuPG,
    ObjectServer,
    Release,
    make_release,
    sha256_digest,
)
from wfc_container.bundles._download import (
    BundleFetcher,
    DownloadProgress,
    DownloadReport,
    ProgressHook,
)
from wfc_container.bundles._errors import (
    AsyncBackendError,
    ConnectionFailedError,
    DigestMismatchError,
    DownloadError,
    HttpStatusError,
    ObjectTooLargeError,
    TransferTimeoutError,
    TruncatedTransferError,
    UrlPolicyError,
)
from wfc_container.bundles._transfer import check_url, redact_url


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(name="release", scope="module")
def release_fixture() -> Iterator[Release]:
    """Return one signed release for the whole module: only its bytes matter here."""
    home = GnuPG()
    try:
        yield make_release(home, home.generate_key("Mirror Test <mirror@example.test>"))
    finally:
        home.close()


@pytest.fixture(name="object_server")
async def object_server_fixture(release: Release) -> AsyncIterator[ObjectServer]:
    async with ObjectServer() as server:
        server.objects.update(release.objects())
        yield server


@pytest.fixture
async def fetcher() -> AsyncIterator[BundleFetcher]:
    async with BundleFetcher(retries=2, backoff=0.0, read_timeout=0.5) as owned:
        yield owned


async def download(
    fetcher: BundleFetcher,
    release: Release,
    urls: list[str],
    dest: Path,
    *,
    max_bytes: int = 1 << 30,
    progress: ProgressHook | None = None,
    timeout: float | None = None,
) -> DownloadReport:
    return await fetcher.download_artifact(
        urls,
        name=release.artifact_name,
        expected_digest=sha256_digest(release.artifact),
        max_bytes=max_bytes,
        dest=dest,
        progress=progress,
        timeout=timeout,
    )


def ranges(server: ObjectServer) -> list[str | None]:
    return [request.headers.get("range") for request in server.requests]


# --- success paths ---------------------------------------------------------


async def test_download_streams_into_file(
    fetcher: BundleFetcher,
    release: Release,
    object_server: ObjectServer,
    tmp_path: Path,
) -> None:
    url = object_server.url(release.artifact_name)
    events: list[DownloadProgress] = []

    report = await fetcher.download_artifact(
        [url],
        name=release.artifact_name,
        expected_digest=sha256_digest(release.artifact),
        max_bytes=1 << 20,
        dest=tmp_path / "artifact",
        progress=events.append,
    )

    assert (tmp_path / "artifact").read_bytes() == release.artifact
    assert report.digest == sha256_digest(release.artifact)
    assert report.size == len(release.artifact)
    assert report.url == url
    assert report.redirects == (url,)
    assert report.attempts == 1
    assert report.resumed == 0
    assert report.failures == ()
    assert events[-1] == DownloadProgress(
        name=release.artifact_name,
        done=len(release.artifact),
        total=len(release.artifact),
    )
    assert [event.done for event in events] == sorted(event.done for event in events)


async def test_fetch_object_returns_bytes(
    fetcher: BundleFetcher, release: Release, object_server: ObjectServer
) -> None:
    data = await fetcher.fetch_object(
        [object_server.url("SHA256SUMS")],
        name="SHA256SUMS",
        expected_digest=sha256_digest(release.checksums),
        max_bytes=1 << 20,
    )

    assert data == release.checksums


async def test_download_resumes_after_drop(
    fetcher: BundleFetcher,
    release: Release,
    object_server: ObjectServer,
    tmp_path: Path,
) -> None:
    """The connection closes after 100000 bytes; the retry requests the rest."""
    object_server.faults[release.artifact_name] = Fault(drop_after=100_000, times=1)

    report = await download(
        fetcher, release, [object_server.url(release.artifact_name)], tmp_path / "a"
    )

    assert (tmp_path / "a").read_bytes() == release.artifact
    assert report.resumed == 1
    assert report.attempts == 2
    assert ranges(object_server) == [None, "bytes=100000-"]


async def test_download_restarts_when_range_ignored(
    fetcher: BundleFetcher,
    release: Release,
    object_server: ObjectServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 200 response to the Range request restarts from zero; the hash covers it all."""
    name = release.artifact_name
    object_server.faults[name] = Fault(drop_after=100_000, times=1)

    def ignore_range_next(progress: DownloadProgress) -> None:
        object_server.faults[name] = Fault(ignore_range=True)

    caplog.set_level(logging.WARNING, logger="wfc_container.bundles")
    report = await download(
        fetcher,
        release,
        [object_server.url(name)],
        tmp_path / "a",
        progress=ignore_range_next,
    )

    assert (tmp_path / "a").read_bytes() == release.artifact
    assert report.resumed == 0
    assert ranges(object_server) == [None, "bytes=100000-"]
    assert any("bundle.download.restart" in message for message in caplog.messages)


async def test_download_resumes_after_read_timeout(
    fetcher: BundleFetcher,
    release: Release,
    object_server: ObjectServer,
    tmp_path: Path,
) -> None:
    """A server silent for longer than the read-idle timeout once: resumed."""
    object_server.faults[release.artifact_name] = Fault(
        stall_after=70_000, stall=5, times=1
    )

    report = await download(
        fetcher, release, [object_server.url(release.artifact_name)], tmp_path / "a"
    )

    assert (tmp_path / "a").read_bytes() == release.artifact
    assert report.resumed == 1
    assert ranges(object_server) == [None, "bytes=70000-"]


async def test_download_ignores_content_encoding(
    fetcher: BundleFetcher,
    release: Release,
    object_server: ObjectServer,
    tmp_path: Path,
) -> None:
    """``Content-Encoding: gzip`` on a .tar.gz must not gunzip the bytes."""
    object_server.faults[release.artifact_name] = Fault(gzip_header=True)

    await download(
        fetcher, release, [object_server.url(release.artifact_name)], tmp_path / "a"
    )

    assert (tmp_path / "a").read_bytes() == release.artifact


async def test_download_retries_server_error(
    fetcher: BundleFetcher,
    release: Release,
    object_server: ObjectServer,
    tmp_path: Path,
) -> None:
    object_server.faults[release.artifact_name] = Fault(status=503, times=1)

    report = await download(
        fetcher, release, [object_server.url(release.artifact_name)], tmp_path / "a"
    )

    assert report.attempts == 2


async def test_download_records_redirect_chain(
    fetcher: BundleFetcher,
    release: Release,
    object_server: ObjectServer,
    tmp_path: Path,
) -> None:
    start = object_server.url("latest.tar.gz")
    target = object_server.url(release.artifact_name)
    object_server.objects["latest.tar.gz"] = b""
    object_server.faults["latest.tar.gz"] = Fault(
        redirect_to=f"/{release.artifact_name}"
    )

    report = await download(fetcher, release, [start], tmp_path / "a")

    assert report.url == start
    assert report.redirects == (start, target)


async def test_redirect_drops_credentials_for_other_host(
    release: Release, object_server: ObjectServer, tmp_path: Path
) -> None:
    """A token for 127.0.0.1:<A> is not sent after a redirect to localhost:<B>."""
    async with ObjectServer() as storage:
        storage.objects[release.artifact_name] = release.artifact
        storage.faults[release.artifact_name] = Fault(reject_auth=True)
        moved = f"http://localhost:{storage.port}/{release.artifact_name}"
        object_server.faults[release.artifact_name] = Fault(redirect_to=moved)
        origin = f"127.0.0.1:{object_server.port}"
        async with BundleFetcher(credentials={origin: "Bearer s3cr3t"}) as fetcher:
            report = await download(
                fetcher,
                release,
                [object_server.url(release.artifact_name)],
                tmp_path / "a",
            )

    assert object_server.requests[0].headers.get("authorization") == "Bearer s3cr3t"
    assert [r.headers.get("authorization") for r in storage.requests] == [None]
    assert all("cookie" not in r.headers for r in storage.requests)
    assert report.redirects[-1] == moved


async def test_mirror_bad_bytes_then_upstream(
    fetcher: BundleFetcher,
    release: Release,
    object_server: ObjectServer,
    tmp_path: Path,
) -> None:
    """A mirror that rewrote the tarball is rejected with a reason; upstream is used."""
    async with ObjectServer() as mirror:
        mirror.objects[release.artifact_name] = release.artifact
        flipped = bytes([release.artifact[0] ^ 1]) + release.artifact[1:]
        mirror.faults[release.artifact_name] = Fault(replace_with=flipped)
        urls = [
            mirror.url(release.artifact_name),
            object_server.url(release.artifact_name),
        ]

        report = await download(fetcher, release, urls, tmp_path / "a")

    failure = report.failures[0]
    assert report.url == urls[1]
    assert failure.url == urls[0]
    assert isinstance(failure.error, DigestMismatchError)
    assert failure.error.actual == sha256_digest(flipped)
    assert (tmp_path / "a").read_bytes() == release.artifact


# --- failures --------------------------------------------------------------


async def test_download_digest_mismatch_everywhere(
    fetcher: BundleFetcher,
    release: Release,
    object_server: ObjectServer,
    tmp_path: Path,
) -> None:
    object_server.faults[release.artifact_name] = Fault(truncate_to=1000)
    url = object_server.url(release.artifact_name)

    with pytest.raises(DownloadError, match="digest mismatch") as info:
        await download(fetcher, release, [url], tmp_path / "a")

    error = info.value.failures[0].error
    assert isinstance(error, DigestMismatchError)
    assert error.expected == sha256_digest(release.artifact)
    assert error.actual == sha256_digest(release.artifact[:1000])
    assert info.value.name == release.artifact_name


async def test_download_truncated_every_time(
    release: Release, object_server: ObjectServer, tmp_path: Path
) -> None:
    object_server.faults[release.artifact_name] = Fault(drop_after=100_000)
    size = len(release.artifact)

    async with BundleFetcher(retries=0, backoff=0.0) as fetcher:
        with pytest.raises(
            DownloadError, match=f"received 100000 of {size} bytes"
        ) as info:
            await download(
                fetcher,
                release,
                [object_server.url(release.artifact_name)],
                tmp_path / "a",
            )

    error = info.value.failures[0].error
    assert isinstance(error, TruncatedTransferError)
    assert isinstance(error.__cause__, aiohttp.ClientPayloadError)


async def test_download_slow_every_time(
    release: Release, object_server: ObjectServer, tmp_path: Path
) -> None:
    object_server.faults[release.artifact_name] = Fault(stall_after=1000, stall=5)

    async with BundleFetcher(retries=1, backoff=0.0, read_timeout=0.3) as fetcher:
        with pytest.raises(DownloadError, match="read timed out") as info:
            await download(
                fetcher,
                release,
                [object_server.url(release.artifact_name)],
                tmp_path / "a",
            )

    assert isinstance(info.value.failures[0].error, TransferTimeoutError)
    assert len(object_server.requests) == 2


async def test_download_overall_timeout(
    release: Release, object_server: ObjectServer, tmp_path: Path
) -> None:
    object_server.faults[release.artifact_name] = Fault(stall_after=1000, stall=5)

    async with BundleFetcher() as fetcher:
        with pytest.raises(TransferTimeoutError, match="download timed out") as info:
            await download(
                fetcher,
                release,
                [object_server.url(release.artifact_name)],
                tmp_path / "a",
                timeout=0.3,
            )

    assert info.value.timeout == 0.3


async def test_download_not_found_not_retried(
    fetcher: BundleFetcher,
    release: Release,
    object_server: ObjectServer,
    tmp_path: Path,
) -> None:
    with pytest.raises(DownloadError, match="responded 404 Not Found") as info:
        await download(
            fetcher, release, [object_server.url("missing.tar.gz")], tmp_path / "a"
        )

    assert isinstance(info.value.failures[0].error, HttpStatusError)
    assert len(object_server.requests) == 1


async def test_download_size_limit(
    fetcher: BundleFetcher,
    release: Release,
    object_server: ObjectServer,
    tmp_path: Path,
) -> None:
    url = object_server.url(release.artifact_name)

    with pytest.raises(DownloadError, match="too large") as info:
        await download(fetcher, release, [url], tmp_path / "a", max_bytes=1000)

    error = info.value.failures[0].error
    assert isinstance(error, ObjectTooLargeError)
    assert error.max_bytes == 1000


async def test_download_connection_refused(
    fetcher: BundleFetcher, release: Release, tmp_path: Path
) -> None:
    async with ObjectServer() as closed:
        url = closed.url(release.artifact_name)

    with pytest.raises(DownloadError, match="connection to") as info:
        await download(fetcher, release, [url], tmp_path / "a")

    assert isinstance(info.value.failures[0].error, ConnectionFailedError)


async def test_download_rejects_plain_http_to_remote_host(
    fetcher: BundleFetcher, release: Release, tmp_path: Path
) -> None:
    with pytest.raises(DownloadError, match="plain http is allowed only to loopback"):
        await download(
            fetcher, release, ["http://example.test/x.tar.gz"], tmp_path / "a"
        )


async def test_download_redirect_loop(
    fetcher: BundleFetcher,
    release: Release,
    object_server: ObjectServer,
    tmp_path: Path,
) -> None:
    name = release.artifact_name
    object_server.faults[name] = Fault(redirect_to=f"/{name}")

    with pytest.raises(DownloadError, match="more than 5 redirects"):
        await download(fetcher, release, [object_server.url(name)], tmp_path / "a")

    assert len(object_server.requests) == 6


async def test_download_no_urls(
    fetcher: BundleFetcher, release: Release, tmp_path: Path
) -> None:
    with pytest.raises(DownloadError, match="no source urls"):
        await download(fetcher, release, [], tmp_path / "a")


@pytest.mark.parametrize(
    ("url", "previous", "rule"),
    [
        ("ftp://127.0.0.1/x", None, "expected an https URL with a host"),
        ("http://192.0.2.1/x", None, "plain http is allowed only to loopback"),
        ("https://user:pw@example.test/x", None, "credentials in URLs are not allowed"),
        ("http://127.0.0.1/x", "https://example.test/y", "redirect downgrades https"),
        ("relative/path/x", None, "expected an https URL with a host"),
    ],
    ids=["ftp", "http-remote", "userinfo", "downgrade", "relative"],
)
def test_check_url_rejects(url: str, previous: str | None, rule: str) -> None:
    with pytest.raises(UrlPolicyError, match=rule):
        check_url(URL(url), previous=None if previous is None else URL(previous))


@pytest.mark.parametrize(
    "url",
    [
        "https://example.test/x",
        "http://127.0.0.1:8/x",
        "http://[::1]/x",
        "http://localhost/x",
    ],
)
def test_check_url_accepts(url: str) -> None:
    check_url(URL(url))


def test_redact_url_drops_secrets() -> None:
    assert redact_url("https://u:p@example.test/a?token=1") == "https://example.test/a"


# --- session ownership and event loop --------------------------------------


async def test_fetcher_closes_owned_session() -> None:
    async with BundleFetcher() as fetcher:
        assert not fetcher.closed

    assert fetcher.closed


async def test_fetcher_keeps_caller_session() -> None:
    async with aiohttp.ClientSession() as session:
        async with BundleFetcher(session) as fetcher:
            pass

        assert fetcher.closed is False
        assert not session.closed


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_fetcher_rejects_trio() -> None:
    with pytest.raises(AsyncBackendError, match="not 'trio'"):
        async with BundleFetcher():
            pass


async def test_download_logs_retry(
    fetcher: BundleFetcher,
    release: Release,
    object_server: ObjectServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    object_server.faults[release.artifact_name] = Fault(status=503, times=1)
    url = object_server.url(release.artifact_name)
    caplog.set_level(logging.WARNING, logger="wfc_container.bundles")

    await download(fetcher, release, [url], tmp_path / "a")

    assert caplog.record_tuples == [
        (
            "wfc_container.bundles",
            logging.WARNING,
            f"bundle.download.retry name={release.artifact_name} url={url} attempt=1 "
            f"delay=0.0 reason={url!r} responded 503 Service Unavailable",
        )
    ]


async def test_mirror_regenerated_checksums_then_upstream(
    fetcher: BundleFetcher, release: Release, object_server: ObjectServer
) -> None:
    """A mirror's own SHA256SUMS fails the pinned digest; the next source is used."""
    async with ObjectServer() as mirror:
        mirror.objects["SHA256SUMS"] = release.checksums + b"0" * 64 + b"  extra\n"
        urls = [mirror.url("SHA256SUMS"), object_server.url("SHA256SUMS")]

        data = await fetcher.fetch_object(
            urls,
            name="SHA256SUMS",
            expected_digest=sha256_digest(release.checksums),
            max_bytes=1 << 20,
        )

    assert data == release.checksums
    assert len(mirror.requests) == 1


async def test_download_size_limit_without_length(
    fetcher: BundleFetcher,
    release: Release,
    object_server: ObjectServer,
    tmp_path: Path,
) -> None:
    """With no Content-Length, the transfer stops once the limit is passed."""
    object_server.faults[release.artifact_name] = Fault(chunked=True)
    url = object_server.url(release.artifact_name)

    with pytest.raises(DownloadError, match="more than 100000 bytes"):
        await download(fetcher, release, [url], tmp_path / "a", max_bytes=100_000)

    assert file_size(tmp_path / "a") <= 100_000


async def test_download_chunked_body(
    fetcher: BundleFetcher,
    release: Release,
    object_server: ObjectServer,
    tmp_path: Path,
) -> None:
    object_server.faults[release.artifact_name] = Fault(chunked=True)
    events: list[DownloadProgress] = []

    await download(
        fetcher,
        release,
        [object_server.url(release.artifact_name)],
        tmp_path / "a",
        progress=events.append,
    )

    assert file_size(tmp_path / "a") == len(release.artifact)
    assert {event.total for event in events} == {None}


def file_size(path: Path) -> int:
    return path.stat().st_size


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            UrlPolicyError(
                url="http://x.test/a", rule="plain http is allowed only to loopback"
            ),
            "url 'http://x.test/a' rejected: plain http is allowed only to loopback",
        ),
        (
            HttpStatusError(url="https://x.test/a", status=404, reason="Not Found"),
            "'https://x.test/a' responded 404 Not Found",
        ),
        (
            ConnectionFailedError(url="https://x.test/a", reason="refused"),
            "connection to 'https://x.test/a' failed: refused",
        ),
        (
            ObjectTooLargeError(name="a.tar.gz", url="https://x.test/a", max_bytes=10),
            "'a.tar.gz' from 'https://x.test/a' is too large: more than 10 bytes",
        ),
        (
            TruncatedTransferError(url="https://x.test/a", received=5, expected=None),
            "transfer from 'https://x.test/a' truncated: "
            "received 5 of an unknown number of bytes",
        ),
        (
            TransferTimeoutError(url="https://x.test/a", phase="read", timeout=None),
            "read timed out for 'https://x.test/a'",
        ),
        (
            DigestMismatchError(
                name="a", url="https://x.test/a", expected="sha256:1", actual="sha256:2"
            ),
            "digest mismatch for 'a' from 'https://x.test/a': "
            "expected 'sha256:1', got 'sha256:2'",
        ),
        (
            AsyncBackendError(backend="trio"),
            "bundle downloads need the asyncio backend, not 'trio'",
        ),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else "",
)
def test_transport_error_messages(error: Exception, message: str) -> None:
    assert str(error) == message
    assert "\n" not in str(error)
    assert not str(error).endswith(".")


async def test_download_overwrites_leftover_file(
    fetcher: BundleFetcher,
    release: Release,
    object_server: ObjectServer,
    tmp_path: Path,
) -> None:
    """A partial file from an earlier run is truncated, never resumed from."""
    dest = tmp_path / "a"
    dest.write_bytes(release.artifact[:5000] + b"garbage" * 1000)

    await download(fetcher, release, [object_server.url(release.artifact_name)], dest)

    assert dest.read_bytes() == release.artifact
    assert ranges(object_server) == [None]
