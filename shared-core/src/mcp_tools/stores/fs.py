"""A store in one JSON file, safe across threads and processes.

The file layout is the TypeScript ``fs`` store's, pretty-printed with two spaces::

    {
      "state_abc": {
        "value": "3f1c...",
        "created_at": "2026-11-26T05:53:35.074Z",
        "updated_at": "2026-11-26T05:53:35.074Z",
        "expires_at": "2026-11-26T06:03:35.074Z"
      }
    }

``expires_at`` is written only for entries with a TTL; the TypeScript store ignores it.

Unlike the TypeScript store, which lost updates under concurrency and replaced an unreadable file
with ``{}``, every change here is a locked read-modify-write: a ``threading.Lock`` plus an
exclusive ``fcntl.flock`` on a sidecar ``<file>.lock``, so threads and processes (and other
:class:`FsStore` instances) serialise. The new content goes to a temporary file in the same
directory (mode 0600), is fsynced, atomically renamed over the old file with :func:`os.replace`,
and the directory is fsynced. Readers therefore see either the old or the new file, never a mix.
A file that cannot be parsed raises :class:`StoreCorrupted` naming it, and is never rewritten.

Every operation reads the whole file, so this store suits development, demos and small
single-host deployments (hundreds to a few thousand keys). POSIX only (it needs ``fcntl``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from json.decoder import scanstring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

from .base import (
    BaseStore,
    Duration,
    JsonValue,
    StoreStats,
    human_size,
    iso_timestamp,
    parse_timestamp,
    poll_for_lock,
    utcnow,
)
from .encryption import EncryptionKey, maybe_encrypt
from .errors import StoreCorrupted, StoreError

__all__ = ["DEFAULT_FS_PATH", "FsStore", "create_fs_store"]

#: The TypeScript default, ``os.tmpdir()/__mcp_demo``. Fine for demos only: pass a real path.
DEFAULT_FS_PATH = os.path.join(tempfile.gettempdir(), "__mcp_demo")

_PARSE_ATTEMPTS = 3  # a non-atomic writer (the TS store) may be caught mid-write; look again briefly
_PARSE_RETRY_DELAY = 0.02

_Data = dict[str, dict[str, Any]]


def _parse(text: str) -> tuple[object, dict[str, str]]:
    """Parse the file; also return each entry's exact text when the file has the canonical layout.

    Reusing those texts lets a write serialise only the entry it changes (``indent`` disables
    the C encoder, so re-encoding thousands of entries per write would dominate). The canonical
    layout (``JSON.stringify(data, null, 2)``) puts every top-level key at the start of a line
    indented by exactly two spaces, and JSON strings cannot hold a raw newline, so splitting on
    ``,\\n  "`` finds exactly the entry boundaries; each piece is still checked against its key.
    A file in any other layout is parsed normally and rewritten canonically on the next change.
    """
    data = json.loads(text)
    if not isinstance(data, dict) or not data or not text.startswith('{\n  "') or not text.endswith("\n}"):
        return data, {}
    pieces = text[5:-2].split(',\n  "')
    if len(pieces) != len(data):
        return data, {}
    texts: dict[str, str] = {}
    for key, piece in zip(data, pieces, strict=True):
        try:
            found, end = scanstring(piece, 0)
        except ValueError:
            return data, {}
        if found != key or not piece.startswith(": {", end):
            return data, {}
        texts[key] = '"' + piece
    return data, texts


def _entry_line(key: str, entry: dict[str, Any]) -> str:
    """``"key": {...}`` as in the file: the entry pretty-printed and nested one level."""
    text = json.dumps(entry, ensure_ascii=False, indent=2, allow_nan=False).replace("\n", "\n  ")
    return json.dumps(key, ensure_ascii=False) + ": " + text


def _file_text(data: _Data, texts: dict[str, str]) -> str:
    """The whole file, identical to ``json.dumps(data, indent=2)`` / JS ``JSON.stringify(data, null, 2)``.

    Entries missing from ``texts`` are serialised and added to it; the others are reused.
    """
    if not data:
        return "{}"
    lines = []
    for key, entry in data.items():
        line = texts.get(key)
        if line is None:
            line = texts[key] = _entry_line(key, entry)
        lines.append(line)
    return "{\n  " + ",\n  ".join(lines) + "\n}"


def _live(entry: dict[str, Any], now: datetime) -> bool:
    expires = entry.get("expires_at")
    if not isinstance(expires, str):
        return True
    moment = parse_timestamp(expires)
    return moment is None or moment > now


def _created(entry: dict[str, Any]) -> datetime | None:
    created = entry.get("created_at")
    return parse_timestamp(created) if isinstance(created, str) else None


class FsStore(BaseStore):
    """One JSON file, compatible with the TypeScript ``createFsStore`` layout.

    ``durable=False`` skips the fsync calls (faster, but a power loss may lose the last writes;
    the file is still never half-written).
    """

    backend = "fs"

    def __init__(
        self,
        file_path: str | os.PathLike[str] | None = None,
        *,
        default_ttl: Duration | None = None,
        durable: bool = True,
    ) -> None:
        super().__init__(default_ttl=default_ttl)
        try:
            import fcntl  # noqa: F401
        except ImportError:  # pragma: no cover - Windows
            raise StoreError("the fs store needs POSIX file locking (fcntl); use the SQLite store") from None
        self.path = Path(file_path if file_path is not None else DEFAULT_FS_PATH).absolute()
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.durable = durable
        self._thread_lock = threading.Lock()
        self._pid = os.getpid()

    # -- file handling -----------------------------------------------------------------------

    def _load(self) -> _Data:
        """Read and parse the file; a missing or zero-byte file is an empty store."""
        return self._load_with_texts()[0]

    def _load_with_texts(self) -> tuple[_Data, dict[str, str]]:
        """Parse the file, keeping each entry's text where the layout is canonical (see ``_parse``)."""
        for attempt in range(_PARSE_ATTEMPTS):
            try:
                raw = self.path.read_bytes()
            except FileNotFoundError:
                return {}, {}
            except OSError as exc:
                raise StoreError(f"cannot read store file {self.path}: {exc.strerror or exc}") from None
            if not raw:
                return {}, {}
            try:
                data, texts = _parse(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                if attempt + 1 < _PARSE_ATTEMPTS:
                    time.sleep(_PARSE_RETRY_DELAY)
                    continue
                raise StoreCorrupted(
                    f"store file {self.path} cannot be parsed as JSON ({exc}); it was left untouched, "
                    "repair or move it away",
                    path=str(self.path),
                ) from None
            break
        if not isinstance(data, dict):
            raise StoreCorrupted(
                f"store file {self.path} does not hold a JSON object; it was left untouched",
                path=str(self.path),
            )
        for key, entry in data.items():
            if not isinstance(entry, dict):
                raise StoreCorrupted(
                    f"store file {self.path}: entry {key!r} is not a record object; the file was left "
                    "untouched",
                    path=str(self.path),
                    key=key,
                )
        return data, texts

    def _save(self, text: str) -> None:
        directory = self.path.parent
        fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(text.encode("utf-8"))
                handle.flush()
                if self.durable:
                    os.fsync(handle.fileno())
            os.replace(tmp_name, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            raise
        if self.durable:
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Exclusive lock across threads (threading) and processes (flock on the sidecar file)."""
        import fcntl

        if self._pid != os.getpid():  # forked: a lock held by another thread of the parent is void here
            self._thread_lock = threading.Lock()
            self._pid = os.getpid()
        with self._thread_lock:
            try:
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise StoreError(f"cannot open lock file {self.lock_path}: {exc.strerror or exc}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing the descriptor releases the flock

    # -- backend hooks -----------------------------------------------------------------------

    def _read(self, key: str) -> JsonValue:
        entry = self._load().get(key)
        if entry is None or not _live(entry, utcnow()):
            return None
        return entry.get("value")

    def _write(self, key: str, value_json: str, ttl: float | None) -> None:
        with self._locked():
            self._write_unlocked(key, value_json, ttl)

    def _delete(self, key: str) -> bool:
        with self._locked():
            data, texts = self._load_with_texts()
            entry = data.pop(key, None)
            if entry is None:
                return False
            texts.pop(key, None)
            self._save(_file_text(data, texts))
            return _live(entry, utcnow())

    def _exists(self, key: str) -> bool:
        entry = self._load().get(key)
        return entry is not None and _live(entry, utcnow())

    def _keys(self, prefix: str) -> list[str]:
        now = utcnow()
        epoch = datetime.fromtimestamp(0, now.tzinfo)
        items = [
            (_created(entry) or epoch, key)
            for key, entry in self._load().items()
            if key.startswith(prefix) and _live(entry, now)
        ]
        items.sort(key=lambda item: item[0])  # stable: file order among equal timestamps, as in TS
        return [key for _, key in items]

    def _cleanup(self, older_than: float) -> int:
        with self._locked():
            data, texts = self._load_with_texts()
            now = utcnow()
            cutoff = now - timedelta(seconds=older_than)
            doomed = []
            for key, entry in data.items():
                created = _created(entry)
                if not _live(entry, now) or (created is not None and created < cutoff):
                    doomed.append(key)
            for key in doomed:
                del data[key]
                texts.pop(key, None)
            if doomed:
                self._save(_file_text(data, texts))
            return len(doomed)

    def _stats(self) -> StoreStats:
        now = utcnow()
        total = sum(1 for entry in self._load().values() if _live(entry, now))
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            size = 0
        return {
            "backend": self.backend,
            "total_keys": total,
            "file_size": human_size(size),
            "file_path": str(self.path),
        }

    def _close(self) -> None:
        """Nothing to release: the file is opened per operation."""

    def _take(self, key: str) -> JsonValue:
        with self._locked():
            data, texts = self._load_with_texts()
            entry = data.pop(key, None)
            if entry is None:
                return None
            texts.pop(key, None)
            self._save(_file_text(data, texts))
            return entry.get("value") if _live(entry, utcnow()) else None

    def _update(self, key: str, compute: Callable[[JsonValue], str], ttl: float | None) -> str:
        with self._locked():
            data, _texts = self._load_with_texts()
            now = utcnow()
            old = data.get(key)
            live = old is not None and _live(old, now)
            text = compute(old.get("value") if live and old is not None else None)
            self._write_unlocked(key, text, ttl)
            return text

    def _write_unlocked(self, key: str, value_json: str, ttl: float | None) -> None:
        data, texts = self._load_with_texts()
        now = utcnow()
        stamp = iso_timestamp(now)
        old = data.get(key)
        created = stamp
        if old is not None and _live(old, now) and isinstance(old.get("created_at"), str):
            created = old["created_at"]
        entry: dict[str, Any] = {"value": json.loads(value_json), "created_at": created, "updated_at": stamp}
        if ttl is not None:
            entry["expires_at"] = iso_timestamp(now + timedelta(seconds=ttl))
        data[key] = entry
        texts.pop(key, None)
        self._save(_file_text(data, texts))

    @contextlib.contextmanager
    def _lock_cm(self, name: str, timeout: float) -> Iterator[None]:
        import fcntl

        directory = self.path.with_name(self.path.name + ".locks")
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:40]
            fd = os.open(directory / digest, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(f"cannot open lock file in {directory}: {exc.strerror or exc}") from None

        def acquire() -> bool:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        try:
            # flock locks belong to the open file description, so threads of one process that
            # open the file separately exclude each other too; the OS drops the lock if we die.
            poll_for_lock(acquire, timeout, f"lock {name!r} of {self.path}")
            yield
        finally:
            os.close(fd)

    def _lock(self, name: str, timeout: float, lease: float) -> contextlib.AbstractContextManager[None]:
        return self._lock_cm(name, timeout)


def create_fs_store(
    file_path: str | os.PathLike[str] | None = None,
    *,
    default_ttl: Duration | None = None,
    durable: bool = True,
    encryption_keys: Sequence[EncryptionKey] | None = None,
    allow_plaintext: bool = False,
) -> BaseStore:
    """Create an :class:`FsStore` (TS ``createFsStore({filePath})``), encrypted when keys are given."""
    store = FsStore(file_path, default_ttl=default_ttl, durable=durable)
    return maybe_encrypt(store, encryption_keys, allow_plaintext=allow_plaintext)
