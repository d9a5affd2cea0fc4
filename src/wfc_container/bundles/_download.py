"""
Streaming download of pinned bundle objects over aiohttp (asyncio only).

Sources must use https, except plain http to a loopback host. Redirects are
followed by hand, at most ``max_redirects`` of them and never from https to
http. ``Authorization`` is sent only to the host it was configured for, and
the owned session keeps no cookies. Connect and read-idle timeouts apply per
request, and the caller's ``timeout`` to the whole call. Transient failures
(connection errors, timeouts, truncated bodies, 408, 429 and 5xx) are retried
with exponential backoff, and a broken transfer resumes with a Range request.
A source that fails for good, or delivers bytes with the wrong digest, is
recorded and the next URL is tried.

Bytes are hashed as they arrive and never read twice. ``auto_decompress`` is
off, so a ``Content-Encoding`` header cannot change them.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
from typing import TYPE_CHECKING

import aiohttp
import anyio
import anyio.to_thread
import attrs
from yarl import URL

from .._errors import BundleError
from ._errors import (
    ConnectionFailedError,
    DigestMismatchError,
    DownloadError,
    ObjectTooLargeError,
    SourceFailure,
    TransferTimeoutError,
    TruncatedTransferError,
    UrlPolicyError,
)
from ._transfer import (
    CHUNK_SIZE,
    FileSink,
    MemorySink,
    Sink,
    Transfer,
    check_status,
    check_url,
    redact_url,
    require_asyncio,
)
from ._transfer import DownloadProgress as DownloadProgress
from ._transfer import DownloadReport as DownloadReport
from ._transfer import ProgressHook as ProgressHook

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping, Sequence
    from pathlib import Path
    from types import TracebackType

logger = logging.getLogger("wfc_container.bundles")

DEFAULT_MAX_BYTES = 512 << 20
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _authority(url: URL) -> str:
    return f"{url.host}:{url.port}"


@contextlib.asynccontextmanager
async def _translate_errors(transfer: Transfer, url: str) -> AsyncIterator[None]:
    """Turn aiohttp's exceptions inside the block into bundle errors."""
    transfer.started = False
    try:
        yield
    except BundleError:
        # Already translated; several of them also subclass OSError.
        raise
    except aiohttp.ConnectionTimeoutError as exc:
        raise TransferTimeoutError(url=url, phase="connect", timeout=None) from exc
    except aiohttp.ServerTimeoutError as exc:
        raise TransferTimeoutError(url=url, phase="read", timeout=None) from exc
    except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError) as exc:
        if not transfer.started:
            raise ConnectionFailedError(url=url, reason=str(exc)) from exc
        raise TruncatedTransferError(
            url=url, received=transfer.received, expected=transfer.total
        ) from exc
    except aiohttp.ClientError as exc:
        raise ConnectionFailedError(
            url=url, reason=str(exc) or type(exc).__name__
        ) from exc
    except OSError as exc:
        raise ConnectionFailedError(url=url, reason=exc.strerror or str(exc)) from exc


async def _read_response(response: aiohttp.ClientResponse, transfer: Transfer) -> None:
    """
    Read one response body into the transfer's sink, hashing each chunk.

    :raises HttpStatusError: for any status except 200, and 206 with the
        Content-Range that matches this transfer's Range request.
    :raises ObjectTooLargeError: as soon as the size limit is exceeded.
    :raises TruncatedTransferError: when the body ends before its length.
    """
    url = str(response.url.with_query(None))
    check_status(response, transfer, url)
    transfer.started = True
    if transfer.total is not None and transfer.total > transfer.max_bytes:
        raise ObjectTooLargeError(
            name=transfer.name, url=url, max_bytes=transfer.max_bytes
        )

    async for chunk in response.content.iter_chunked(CHUNK_SIZE):
        if transfer.received + len(chunk) > transfer.max_bytes:
            raise ObjectTooLargeError(
                name=transfer.name, url=url, max_bytes=transfer.max_bytes
            )
        transfer.sink.write(chunk)
        transfer.hasher.update(chunk)
        transfer.received += len(chunk)
        if transfer.progress is not None:
            transfer.progress(
                DownloadProgress(
                    name=transfer.name, done=transfer.received, total=transfer.total
                )
            )

    if transfer.total is not None and transfer.received < transfer.total:
        raise TruncatedTransferError(
            url=url, received=transfer.received, expected=transfer.total
        )


class BundleFetcher:
    """
    Owner of one aiohttp session for fetching a bundle's objects.

    Use it as ``async with BundleFetcher() as fetcher``. A caller's session may
    be passed in instead; it is then not closed, and its own cookie jar and
    default headers apply.

    :param session: an existing session to use instead of an owned one.
    :param credentials: ``Authorization`` header values by ``host:port`` (port
        443 when omitted); each is sent only to that host.
    :param connect_timeout: seconds to establish a connection (default 30).
    :param read_timeout: seconds without any received byte (default 60).
    :param retries: retries per source after a transient failure (default 3).
    :param backoff: seconds before the first retry, doubled each time (default 0.5).
    :param max_redirects: redirects followed per request (default 5).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        credentials: Mapping[str, str] | None = None,
        connect_timeout: float = 30.0,
        read_timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_redirects: int = 5,
    ) -> None:
        self._session = session
        self._owned = session is None
        self._credentials = {
            key if ":" in key else f"{key}:443": value
            for key, value in (credentials or {}).items()
        }
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout, sock_read=read_timeout
        )
        self.retries = retries
        self.backoff = backoff
        self.max_redirects = max_redirects

    async def __aenter__(self) -> BundleFetcher:
        require_asyncio()
        if self._session is None:
            self._session = aiohttp.ClientSession(
                auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar()
            )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the session if this fetcher created it."""
        if self._owned and self._session is not None:
            with anyio.CancelScope(shield=True):
                await self._session.close()
            self._session = None

    @property
    def closed(self) -> bool:
        """Return whether the fetcher has no open session."""
        return self._session is None or self._session.closed

    async def fetch_object(
        self,
        urls: Sequence[str],
        *,
        name: str,
        expected_digest: str,
        max_bytes: int,
        timeout: float | None = None,
    ) -> bytes:
        """
        Fetch a small object into memory and check its pinned digest.

        :param urls: source URLs, tried in order.
        :param name: the object's name, for messages.
        :param expected_digest: the pinned ``sha256:<hex>`` digest.
        :param max_bytes: the size limit; a larger object is rejected.
        :param timeout: seconds for the whole call, or ``None`` (the default)
            for no limit beyond the connect and read-idle timeouts.
        :returns: the object's bytes.
        :raises DownloadError: when every source failed; ``failures`` gives the reasons.
        :raises TransferTimeoutError: when ``timeout`` expired.
        """
        sink = MemorySink()
        await self._download(
            urls, name, expected_digest, max_bytes, sink, None, timeout
        )
        return bytes(sink.data)

    async def download_artifact(
        self,
        urls: Sequence[str],
        *,
        name: str,
        expected_digest: str,
        max_bytes: int = DEFAULT_MAX_BYTES,
        dest: Path,
        progress: ProgressHook | None = None,
        timeout: float | None = None,
    ) -> DownloadReport:
        """
        Stream an object into ``dest``, hashing it as it is written.

        ``dest`` is created or truncated. After a failure it may contain partial
        or wrong bytes, so it must sit in a staging directory that the caller
        removes. Its bytes are verified only once this returns.

        :param urls: source URLs, tried in order.
        :param name: the object's name, for messages and progress events.
        :param expected_digest: the pinned ``sha256:<hex>`` digest.
        :param max_bytes: the size limit in bytes (default 512 MiB); the
            transfer stops as soon as it is exceeded.
        :param dest: the file to write.
        :param progress: called after each chunk.
        :param timeout: seconds for the whole call, or ``None`` (the default).
        :returns: the report of the source that delivered the bytes.
        :raises DownloadError: when every source failed; ``failures`` gives the reasons.
        :raises TransferTimeoutError: when ``timeout`` expired.
        """
        stream = await anyio.to_thread.run_sync(dest.open, "wb")
        try:
            sink = FileSink(stream)
            return await self._download(
                urls, name, expected_digest, max_bytes, sink, progress, timeout
            )
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(stream.close)

    async def _download(
        self,
        urls: Sequence[str],
        name: str,
        expected_digest: str,
        max_bytes: int,
        sink: Sink,
        progress: ProgressHook | None,
        timeout: float | None,
    ) -> DownloadReport:
        require_asyncio()
        failures: list[SourceFailure] = []
        current = urls[0] if urls else ""
        try:
            with anyio.fail_after(timeout):
                for url in urls:
                    current = url
                    # Nothing from a rejected source may reach the next one's bytes.
                    sink.reset()
                    transfer = Transfer(
                        name=name, max_bytes=max_bytes, sink=sink, progress=progress
                    )
                    try:
                        report = await self._from_source(url, transfer, expected_digest)
                    except BundleError as exc:
                        failures.append(SourceFailure(url=redact_url(url), error=exc))
                        logger.warning(
                            "bundle.download.source_failed name=%s url=%s reason=%s",
                            name,
                            redact_url(url),
                            exc,
                        )
                        continue
                    return attrs.evolve(report, failures=tuple(failures))
        except TimeoutError:
            url = redact_url(current) if current else ""
            raise TransferTimeoutError(
                url=url, phase="download", timeout=timeout
            ) from None

        raise DownloadError(name=name, failures=failures)

    async def _from_source(
        self, url: str, transfer: Transfer, expected_digest: str
    ) -> DownloadReport:
        attempts = 0
        while True:
            attempts += 1
            try:
                await self._attempt(url, transfer)
                break
            except BundleError as exc:
                if not transfer.retryable(exc) or attempts > self.retries:
                    raise
                delay = self.backoff * 2 ** (attempts - 1)
                logger.warning(
                    "bundle.download.retry name=%s url=%s attempt=%s delay=%s "
                    "reason=%s",
                    transfer.name,
                    redact_url(url),
                    attempts,
                    delay,
                    exc,
                )
                await anyio.sleep(delay)

        return self._finish(url, transfer, expected_digest, attempts)

    def _finish(
        self, url: str, transfer: Transfer, expected_digest: str, attempts: int
    ) -> DownloadReport:
        actual = "sha256:" + transfer.hasher.hexdigest()
        if not hmac.compare_digest(actual, expected_digest.strip()):
            raise DigestMismatchError(
                name=transfer.name,
                url=redact_url(url),
                expected=expected_digest,
                actual=actual,
            )

        logger.info(
            "bundle.download.done name=%s bytes=%s digest=%s",
            transfer.name,
            transfer.received,
            actual,
        )
        return DownloadReport(
            name=transfer.name,
            url=redact_url(url),
            redirects=tuple(redact_url(hop) for hop in transfer.redirects),
            digest=actual,
            size=transfer.received,
            attempts=attempts,
            resumed=transfer.resumed,
            failures=(),
        )

    async def _attempt(self, url: str, transfer: Transfer) -> None:
        headers = {}
        if transfer.received:
            headers["Range"] = f"bytes={transfer.received}-"
        async with _translate_errors(transfer, redact_url(url)):
            response = await self._open(URL(url), headers, transfer)
            async with response:
                await _read_response(response, transfer)

    async def _open(
        self, url: URL, headers: Mapping[str, str], transfer: Transfer
    ) -> aiohttp.ClientResponse:
        assert self._session is not None, (
            "use BundleFetcher as an async context manager"
        )
        check_url(url)
        transfer.redirects = [url]
        for _ in range(self.max_redirects + 1):
            request_headers = dict(headers)
            credential = self._credentials.get(_authority(url))
            if credential is not None:
                request_headers["Authorization"] = credential
            logger.debug("bundle.download.request url=%s", redact_url(url))
            response = await self._session.get(
                url,
                headers=request_headers,
                allow_redirects=False,
                auto_decompress=False,
                timeout=self._timeout,
            )
            if response.status not in _REDIRECTS:
                return response

            location = response.headers.get("Location", "")
            response.release()
            target = url.join(URL(location))
            check_url(target, previous=url)
            url = target
            transfer.redirects.append(url)

        raise UrlPolicyError(
            url=redact_url(url), rule=f"more than {self.max_redirects} redirects"
        )
