"""
Stream helpers for extraction: a checked gzip reader and a background file writer.

Extraction spends most of its time in zlib, so decompression runs in one
thread and the writing and hashing of unpacked files in another, beside the
thread that parses the tar stream. zlib, hashlib and file writes release the
GIL on large buffers, so the threads overlap on several cores.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import zlib
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    import hashlib
    from collections.abc import Callable, Iterator

INPUT_CHUNK = 1 << 18
# Decompressed chunks read ahead, each a few hundred KiB.
DECODE_QUEUE = 4
# Chunks waiting for the writer; with 256 KiB chunks this bounds memory to about 1 MiB.
WRITE_QUEUE = 4
_GZIP_WBITS = 16 + zlib.MAX_WBITS


class GzipStream:
    """
    File-like ``read(size)`` over a gzip stream of one or more members.

    A background thread reads and decompresses ahead of the reader. zlib checks
    each member's CRC-32 and length trailer, and a stream that ends inside a
    member raises :class:`EOFError`, so a truncated download cannot pass for a
    shorter archive. Call :meth:`close` to stop the thread early.
    """

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(
            DECODE_QUEUE
        )
        self.data = b""
        self.offset = 0
        self.done = False
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._decode, name="bundle-gunzip")
        self.thread.start()

    def read(self, size: int = -1) -> bytes:
        """Return up to ``size`` decompressed bytes; ``b""`` at the end."""
        if size < 0:
            size = 1 << 62
        while len(self.data) - self.offset < size and not self.done:
            self._take()

        start = self.offset
        self.offset = min(len(self.data), start + size)
        return self.data[start : self.offset]

    def _take(self) -> None:
        item = self.chunks.get()
        if isinstance(item, BaseException):
            self.done = True
            raise item
        if item is None:
            self.done = True
            return

        self.data = self.data[self.offset :] + item
        self.offset = 0

    def _decode(self) -> None:
        try:
            for output in _decompress(self.source):
                if self.stopping.is_set():
                    return
                self.chunks.put(output)
        except (zlib.error, EOFError, OSError) as exc:
            self.chunks.put(exc)
        else:
            self.chunks.put(None)

    def close(self) -> None:
        """Stop the decompression thread and wait for it."""
        self.stopping.set()
        while self.thread.is_alive():
            # Emptying the queue unblocks a thread waiting to put a chunk.
            with contextlib.suppress(queue.Empty):
                self.chunks.get(timeout=0.01)
        self.thread.join()


def _decompress(source: IO[bytes]) -> Iterator[bytes]:
    decoder = zlib.decompressobj(wbits=_GZIP_WBITS)
    while compressed := source.read(INPUT_CHUNK):
        output = decoder.decompress(compressed)
        # A new gzip member may start right after the previous one's trailer.
        while decoder.eof and decoder.unused_data:
            rest = decoder.unused_data
            decoder = zlib.decompressobj(wbits=_GZIP_WBITS)
            output += decoder.decompress(rest)
        if output:
            yield output

    if not decoder.eof:
        msg = "compressed stream ended before the end-of-stream marker"
        raise EOFError(msg)


class FileWriter:
    """
    One background thread that writes and hashes files in submission order.

    The first error in the thread is kept and raised by the next
    :meth:`write`, :meth:`close_file` or :meth:`join` call.
    """

    def __init__(self) -> None:
        self.tasks: queue.Queue[tuple[Callable[[], None], bool] | None] = queue.Queue(
            WRITE_QUEUE
        )
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="bundle-writer")
        self.thread.start()

    def _run(self) -> None:
        while (item := self.tasks.get()) is not None:
            task, always = item
            # After an error only the tasks that close files still run.
            if self.error is not None and not always:
                continue
            try:
                task()
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
                self.error = self.error or exc

    def _submit(self, task: Callable[[], None], *, always: bool = False) -> None:
        if not always:
            self._raise_error()
        self.tasks.put((task, always))

    def _raise_error(self) -> None:
        if self.error is not None:
            raise self.error

    def write(self, out: IO[bytes], digest: hashlib._Hash, chunk: bytes) -> None:
        """Queue ``chunk`` to be hashed and written to ``out``."""

        def task() -> None:
            digest.update(chunk)
            out.write(chunk)

        self._submit(task)

    def close_file(self, out: IO[bytes], mode: int, done: Callable[[], None]) -> None:
        """Queue setting ``mode`` on ``out`` and closing it, then call ``done``."""

        def task() -> None:
            with out:
                if self.error is None:
                    os.fchmod(out.fileno(), mode)
            if self.error is None:
                done()

        self._submit(task, always=True)
        self._raise_error()

    def join(self) -> None:
        """Wait until every queued task ran; raise the first error, if any."""
        finished = threading.Event()
        self._submit(finished.set)
        while not finished.wait(0.1):
            if not self.thread.is_alive():
                break
        self._raise_error()

    def stop(self) -> None:
        """End the thread after the queued tasks; safe to call more than once."""
        if self.thread.is_alive():
            self.tasks.put(None)
            self.thread.join()
