"""Reading import inputs as streams: files, folders and zip archives, with progress counting.

Everything here reads lazily: a zip member is decompressed as it is read, text is read line by
line, JSON is parsed by ijson as it arrives. Every stream adds the bytes it delivers to the
context's :class:`~.importing.ByteProgress`, which the progress bar shows.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from typing import IO, Any

import ijson
import msgspec

from .importing import ByteProgress, FormatMismatch, InputProblem

JSON_ERRORS = (ijson.JSONError, ijson.IncompleteJSONError, UnicodeDecodeError, ValueError)


class CountingReader(io.RawIOBase):
    """A binary stream that adds what it delivers to a :class:`ByteProgress`."""

    def __init__(self, raw: IO[bytes], progress: ByteProgress) -> None:
        self._raw = raw
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self._progress.done += n
        return n

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._progress.done += len(data)
        return data

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


class Replay(io.RawIOBase):
    """``head`` bytes, then the rest of ``stream``: hands a part-read stream to another parser."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        self._head = memoryview(head)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size < 0:
                data = bytes(self._head) + self._stream.read()
                self._head = memoryview(b"")
                return data
            data, self._head = bytes(self._head[:size]), self._head[size:]
            return data
        return self._stream.read(size)


_WHITESPACE = b" \t\r\n"
_COMMA = ord(",")


def laid_out_batches(stream: IO[bytes], buffer: bytes, pos: int, closer: bytes, decode, decode_list,
                     *, other=msgspec.json.decode, chunk: int = 1 << 18):
    """Decode the elements of a JSON array written one indented block per element, fast.

    ``buffer[pos:]`` (then ``stream``) is just inside the array. Pretty-printed exports close
    every element with the same line start (``closer``, e.g. ``b"\\n  }"`` for objects two levels
    deep: a JSON string cannot hold a raw newline, so these bytes cannot occur inside one). The
    elements up to the last closer in a chunk are decoded in one call of ``decode_list`` (a C
    decoder; the array is rebuilt around them), which also proves the cut right: text that is
    not a list of whole values fails to decode. Then, and only then, that chunk is gone through
    element by element with ``decode`` (elements that are valid JSON of another shape, when the
    decoders are typed, with ``other``; the rare one msgspec refuses but ijson reads, such as a
    lone UTF-16 surrogate escape, as ijson reads it) to find what failed.

    Yields lists of decoded elements and stops at the first thing it is not sure of (another
    layout, bad JSON, the end of the array). Its return value is ``(rest, after_element)``: the
    unread text, which starts after the last element yielded (``after_element``) or just inside
    the array when none was, for a general streaming parser to go on with (see
    :class:`Replay`). Memory: a chunk and its elements.
    """
    size = len(closer)
    after = False  # an element was yielded: ``pos`` is just past the comma that followed it
    while True:
        cut = buffer.rfind(closer, pos)
        if cut < 0:
            more = stream.read(chunk)
            if not more:
                return (b"," if after else b"") + buffer[pos:], after
            buffer = buffer[pos:] + more
            pos = 0
            continue
        cut += size
        try:
            items = decode_list(b"[" + buffer[pos:cut] + b"]")
        except msgspec.DecodeError:
            items, stop = _one_by_one(buffer, pos, cut, closer, decode, other)
            if items:
                yield items
            if stop is not None:  # the general parser goes on after the last element yielded
                if items:
                    return buffer[stop:], True
                return (b"," if after else b"") + buffer[pos:], after
            after = True
        else:
            yield items
            after = True
        # After the last element of the chunk: a comma goes on; anything else (the closing "]",
        # text that breaks the pattern) ends the fast part. Spaces and chunk ends are stepped over.
        rest = buffer[cut:].lstrip(_WHITESPACE)
        while not rest:
            more = stream.read(chunk)
            if not more:
                return rest, True
            rest = more.lstrip(_WHITESPACE)
        if rest[0] != _COMMA:
            return rest, True
        buffer, pos = rest + stream.read(chunk), 1


def _one_by_one(buffer: bytes, pos: int, cut: int, closer: bytes, decode, other) -> tuple[list, int | None]:
    """The elements of ``buffer[pos:cut]`` decoded one at a time, up to the first that fails:
    ``(elements, None)`` when all were read, else ``(elements, where the last one read ends)``."""
    items: list = []
    view = memoryview(buffer)
    size = len(closer)
    last_end = pos
    while pos < cut:
        end = buffer.find(closer, pos, cut) + size
        try:
            try:
                items.append(decode(view[pos:end]))
            except msgspec.ValidationError:  # valid JSON of another shape: decoded as it is
                items.append(other(view[pos:end]))
            except msgspec.DecodeError:  # refused (a lone UTF-16 surrogate escape…): as ijson reads it
                items.append(_one_value(view[pos:end]))
        except (msgspec.DecodeError, *JSON_ERRORS):
            return items, last_end
        last_end = end
        while end < cut and buffer[end] in _WHITESPACE:
            end += 1
        if end < cut:
            if buffer[end] != _COMMA:
                return items, last_end
            end += 1
        pos = end
    return items, None


def _one_value(data) -> Any:
    """``data`` as ijson reads it, when it is exactly one JSON value (else a JSON error)."""
    values = list(ijson.items(bytes(data), ""))
    if len(values) != 1:
        raise ValueError("not one JSON value")
    return values[0]


class Tree:
    """A folder or a zip archive, read member by member (Slack exports, WhatsApp zips)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.is_zip = os.path.isfile(path) and zipfile.is_zipfile(path)
        self._zip = zipfile.ZipFile(path) if self.is_zip else None
        if not self.is_zip and not os.path.isdir(path):
            raise FormatMismatch(f"{path}: expected a folder or a .zip archive")

    def names(self) -> list[str]:
        """Member paths with '/' separators, relative to the root, files only."""
        if self._zip is not None:
            return [i.filename for i in self._zip.infolist() if not i.is_dir()]
        out = []
        for root, _dirs, files in os.walk(self.path, followlinks=True):
            for name in files:
                full = os.path.join(root, name)
                out.append(os.path.relpath(full, self.path).replace(os.sep, "/"))
        return sorted(out)

    def size(self, name: str) -> int:
        if self._zip is not None:
            return self._zip.getinfo(name).file_size
        return os.path.getsize(os.path.join(self.path, name))

    def open(self, name: str, progress: ByteProgress | None = None) -> IO[bytes]:
        raw: IO[bytes] = (self._zip.open(name) if self._zip is not None
                          else open(os.path.join(self.path, name), "rb"))
        if progress is None:
            return raw
        return io.BufferedReader(CountingReader(raw, progress), buffer_size=1 << 16)

    def label(self, name: str) -> str:
        """How a member is named in messages: ``export.zip:general/2024-01-02.json``."""
        return f"{self.path}:{name}" if self.is_zip else os.path.join(self.path, name)

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


def require_file(path: str) -> None:
    if not os.path.exists(path):
        raise InputProblem(f"{path}: no such file or folder")
    if not os.access(path, os.R_OK):
        raise InputProblem(f"{path}: not readable")


def input_size(path: str) -> int:
    """Bytes an input will deliver (uncompressed for zips), for the progress bar's total."""
    try:
        if os.path.isdir(path):
            return sum(os.path.getsize(os.path.join(r, f)) for r, _d, fs in os.walk(path) for f in fs)
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                return sum(i.file_size for i in archive.infolist())
        return os.path.getsize(path)
    except OSError:
        return 0


def open_binary(path: str, progress: ByteProgress | None = None) -> IO[bytes]:
    """A file opened for binary reading, counting into ``progress``."""
    require_file(path)
    if os.path.isdir(path):
        raise FormatMismatch(f"{path}: is a folder; give the export file itself")
    raw = open(path, "rb")
    if progress is None:
        return raw
    return io.BufferedReader(CountingReader(raw, progress), buffer_size=1 << 16)


def text_lines(stream: IO[bytes], *, encoding: str = "utf-8-sig") -> Iterator[str]:
    """Lines of a text stream without their line ends; undecodable bytes become U+FFFD."""
    text = io.TextIOWrapper(stream, encoding=encoding, errors="replace", newline=None)
    try:
        for line in text:
            yield line.rstrip("\n")
    finally:
        text.close()  # also when the reader stops early; closing the stream twice is harmless


def json_top_keys(stream: IO[bytes], *, wanted: set[str], keep: set[str] = frozenset(),
                  limit: int = 2_000_000) -> dict[str, Any]:
    """Read the top-level object until one of the ``wanted`` keys starts.

    Returns ``{key: value}`` for the top-level scalars seen before it and for the keys in
    ``keep`` (built whole: keep only small ones), plus ``"__found__"`` naming the wanted key
    reached (absent when the object ended first or ``limit`` parse events passed). Raises
    :class:`FormatMismatch` when the text is not a JSON object.
    """
    out: dict[str, Any] = {}
    key = None
    builder = None
    depth = 0
    events = 0
    try:
        for prefix, event, value in ijson.parse(stream):
            events += 1
            if events == 1 and event != "start_map":
                raise FormatMismatch("the file is not a JSON object")
            if builder is not None:
                builder.event(event, value)
                if event in ("start_map", "start_array"):
                    depth += 1
                elif event in ("end_map", "end_array"):
                    depth -= 1
                    if depth == 0:
                        out[key] = builder.value
                        builder = None
            elif prefix == "" and event == "map_key":
                key = value
                if key in wanted:
                    out["__found__"] = key
                    return out
            elif prefix == key and event in ("string", "number", "boolean", "null"):
                out[key] = value
            elif prefix == key and key in keep and event in ("start_map", "start_array"):
                builder = ijson.ObjectBuilder()
                builder.event(event, value)
                depth = 1
            if events > limit:
                break
    except JSON_ERRORS as exc:
        raise FormatMismatch(f"not valid JSON ({_json_error(exc)})") from None
    return out


def _json_error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def json_error_text(exc: BaseException) -> str:
    """A one-line description of a JSON parse error."""
    return _json_error(exc)


class Input:
    """One file to read, possibly a member of a folder or a zip archive."""

    def __init__(self, label: str, opener, name: str) -> None:
        self.label = label
        self.name = name  # the file name, without folders
        self._opener = opener

    def open(self, progress: ByteProgress | None = None) -> IO[bytes]:
        raw = self._opener()
        if progress is None:
            return raw
        return io.BufferedReader(CountingReader(raw, progress), buffer_size=1 << 16)


def expand_inputs(paths: list[str], suffixes: tuple[str, ...]) -> list[Input]:
    """Every file to read: plain files as given; folders and zip archives by their members
    whose names end with one of ``suffixes`` (sorted, so a run is repeatable)."""
    out: list[Input] = []
    for path in paths:
        require_file(path)
        if os.path.isdir(path) or zipfile.is_zipfile(path):
            tree = Tree(path)
            members = [n for n in tree.names() if n.lower().endswith(suffixes)
                       and not n.rsplit("/", 1)[-1].startswith(("._", "."))]
            if not members:
                raise FormatMismatch(f"{path}: holds no {' or '.join(suffixes)} file")
            for name in sorted(members):
                out.append(Input(tree.label(name), (lambda t=tree, n=name: t.open(n)), name.rsplit("/", 1)[-1]))
        else:
            out.append(Input(path, (lambda p=path: open(p, "rb")), os.path.basename(path)))
    return out
