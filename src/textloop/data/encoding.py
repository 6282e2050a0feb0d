"""UTF-8 checks that name the place of the first bad byte, as an editor would show it.

``Utf8Check`` is fed a file's bytes in order, in blocks of any size (a character may straddle two
blocks), and raises ``InvalidUtf8`` at the first byte that is not UTF-8, with its line and
column (in characters, both from 1). The file readers and the upload route use it on CSV, TSV
and JSON (Lines, or an annotation tool's export), so that the CLI and the API refuse the same
file at the same place; the HTTP layer uses it on JSON bodies. A file in another encoding is
read only when that encoding is named (``--encoding cp1252``, an upload's ``charset``):
``Transcoder`` decodes it to UTF-8 block by block, refusing a byte the encoding does not define
with its line, as a bad UTF-8 byte is, and output past a size limit (``DataTooLarge``). Every
door that takes an encoding's name asks ``text_encoding`` first, which accepts text encodings
only: Python's codec registry also holds bytes-to-bytes codecs (zlib, bz2, base64, hex) and
rot13, and ``charset=zlib`` would let a small body unpack to any size. Nothing guesses
encodings: a guess that is wrong changes characters without a word.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from textloop.errors import DataError, DataTooLarge

TEXT_FORMATS = frozenset({"csv", "tsv", "jsonl", "json", "label-studio", "argilla"})
LINE_FORMATS = frozenset({"csv", "tsv", "jsonl"})  # a row is a line (or a few): lines are bounded
MAX_LINE = 4 * 1024 * 1024  # characters on one line of such a file; a text is at most 10,000
BLOCK_BYTES = 1024 * 1024


class InvalidUtf8(DataError, ValueError):
    """Where the first byte that is not UTF-8 is; callers turn it into their own error (a file's
    ``DataError`` naming the file, a body's ``MalformedBody``). Still a ``ValueError``, as it was
    before it joined the hierarchy."""

    def __init__(self, line: int, column: int, byte: int) -> None:
        super().__init__(f"line {line}: invalid UTF-8 (byte 0x{byte:02x} at column {column})")
        self.line = line
        self.column = column
        self.byte = byte


class LineTooLong(DataError, ValueError):
    """A line of a line-based file (CSV, TSV, JSON Lines) past ``MAX_LINE`` characters: no row
    needs one, and a reader would hold it whole."""

    def __init__(self, line: int, limit: int) -> None:
        super().__init__(
            f"line {line} is over {limit:,} characters, the limit on one line of a CSV, TSV or "
            "JSON Lines file (a text is at most 10,000); is the file in the format it claims?"
        )
        self.line = line


class Utf8Check:
    """Decodes as it goes and keeps only the position: the line and the characters on it;
    with ``max_line``, a line longer than that is refused as soon as it passes it."""

    def __init__(self, max_line: int | None = None) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._line = 1
        self._column = 0  # characters of the current line seen so far
        self._max_line = max_line

    def feed(self, data: bytes, final: bool = False) -> None:
        """Check the next bytes; ``final`` for the last ones (a cut-off character is an error)."""
        pending = self._decoder.getstate()[0]  # the start of a character cut by the last block
        try:
            text = self._decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            seen = pending + data  # what the decoder looked at; exc.start counts in it
            self._advance(seen[: exc.start].decode("utf-8"))
            raise InvalidUtf8(self._line, self._column + 1, seen[exc.start]) from None
        self._advance(text)

    def _advance(self, text: str) -> None:
        if self._max_line is not None:
            self._bound(text, self._max_line)
        newlines = text.count("\n")
        if newlines:
            self._line += newlines
            self._column = len(text) - text.rfind("\n") - 1
        else:
            self._column += len(text)

    def _bound(self, text: str, limit: int) -> None:
        column, line = self._column, self._line  # the first piece goes on the current line
        for piece in text.split("\n"):
            if column + len(piece) > limit:
                raise LineTooLong(line, limit)
            column, line = 0, line + 1


def text_check(file_format: str) -> Utf8Check | None:
    """The check a file of ``file_format`` passes as it is read: UTF-8 for a text format, and
    bounded lines for a line-based one; None for a binary format."""
    if file_format not in TEXT_FORMATS:
        return None
    return Utf8Check(MAX_LINE if file_format in LINE_FORMATS else None)


FILE_HINT = "save the file as UTF-8, or name its encoding, e.g. --encoding cp1252"


def file_error(
    source: str, problem: InvalidUtf8, hint: str = "save the file as UTF-8"
) -> DataError:
    return DataError(f"{source}: {problem}; {hint}")


class UnsupportedEncoding(DataError):
    """An encoding's name that is unknown or not a text encoding (HTTP 415)."""

    status_code = 415


def text_encoding(name: str, source: str) -> str:
    """The codec's own name for ``name``, once it is a text encoding (bytes to text)."""
    try:
        codec = codecs.lookup(name)
    except (LookupError, ValueError):  # ValueError: a name holding NUL
        raise UnsupportedEncoding(
            f"{source}: unknown encoding {name!r}; name a text encoding such as utf-8 or cp1252",
            field="encoding",
        ) from None
    try:  # the check ``bytes.decode`` makes, text encodings only (not on empty bytes)
        b"\0".decode(codec.name)
    except UnicodeError:
        pass  # a text encoding that wants more than one byte (UTF-16)
    except LookupError:
        raise UnsupportedEncoding(
            f"{source}: {name!r} is not a text encoding (it is a {codec.name} codec); name the "
            "character set the text is written in, such as utf-8 or cp1252",
            field="encoding",
        ) from None
    return codec.name


class Transcoder:
    """Bytes in a named text encoding, fed in blocks of any size, out as UTF-8.

    A byte the encoding does not define is refused naming its line (counted in the text decoded
    so far); output past ``limit`` bytes is refused as it happens, whatever the input's size.
    """

    def __init__(self, encoding: str, source: str, limit: int) -> None:
        self.encoding = text_encoding(encoding, source)
        self.source = source
        self.limit = limit
        self._decoder = codecs.getincrementaldecoder(self.encoding)()
        self._line = 1
        self._written = 0

    def feed(self, data: bytes, final: bool = False) -> bytes:
        try:
            text = self._decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            before = exc.object[: exc.start].decode(self.encoding, "replace")
            raise DataError(
                f"{self.source}: line {self._line + before.count(chr(10))}: byte "
                f"0x{exc.object[exc.start]:02x} is not {self.encoding} text; name the file's "
                "encoding with --encoding (charset= on an upload)"
            ) from None
        try:
            out = text.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate, as unicode_escape can write one
            line = self._line + text[: exc.start].count("\n")
            raise DataError(
                f"{self.source}: line {line}: holds an unpaired surrogate, which no text holds"
            ) from None
        self._line += text.count("\n")
        self._written += len(out)
        if self._written > self.limit:
            raise DataTooLarge(
                f"{self.source}: decodes from {self.encoding} to over {self.limit:,} bytes of "
                "UTF-8, past the limit on what a file may decode to; split the file",
                field="body",
            )
        return out


def transcoded(data: bytes | Path, encoding: str, source: str, limit: int) -> bytes:
    """``data`` (a file, read a block at a time) from ``encoding`` into UTF-8, within ``limit``
    bytes of output."""
    transcoder = Transcoder(encoding, source, limit)
    if isinstance(data, bytes):
        return transcoder.feed(data, final=True)
    out = bytearray()
    with data.open("rb") as handle:
        while block := handle.read(BLOCK_BYTES):
            out += transcoder.feed(block)
    out += transcoder.feed(b"", final=True)
    return bytes(out)


def check_file(path: Path, file_format: str, source: str, hint: str = FILE_HINT) -> None:
    """Refuse a text file that is not UTF-8, or has an endless line (``text_check``), naming
    the line; other formats pass unread."""
    check = text_check(file_format)
    if check is None:
        return
    try:
        with path.open("rb") as handle:
            while block := handle.read(BLOCK_BYTES):
                check.feed(block)
        check.feed(b"", final=True)
    except InvalidUtf8 as problem:
        raise file_error(source, problem, hint) from None
    except LineTooLong as problem:
        raise DataError(f"{source}: {problem}") from None


def check_bytes(data: bytes, file_format: str, source: str) -> None:
    """The same as ``check_file`` for a file held in memory."""
    check = text_check(file_format)
    if check is None:
        return
    try:
        check.feed(data, final=True)
    except InvalidUtf8 as problem:
        raise file_error(source, problem) from None
    except LineTooLong as problem:
        raise DataError(f"{source}: {problem}") from None
