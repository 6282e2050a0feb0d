"""UTF-8 checks that name the place of the first bad byte, as an editor would show it.

``Utf8Check`` is fed a file's bytes in order, in blocks of any size (a character may straddle two
blocks), and raises ``InvalidUtf8`` at the first byte that is not UTF-8, with its line and
column (in characters, both from 1). The file readers and the upload route use it on CSV, TSV
and JSON (Lines, or an annotation tool's export), so that the CLI and the API refuse the same
file at the same place; the HTTP layer uses it on JSON bodies. A file in another encoding is
read only when that encoding is named (``--encoding cp1252``): ``transcoded`` decodes it to
UTF-8 in memory, and a byte the encoding does not define is refused with its line, as a bad
UTF-8 byte is. Nothing guesses encodings: a guess that is wrong changes characters without a
word.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from textloop.errors import DataError

TEXT_FORMATS = frozenset({"csv", "tsv", "jsonl", "json", "label-studio", "argilla"})
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


class Utf8Check:
    """Decodes as it goes and keeps only the position: the line and the characters on it."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._line = 1
        self._column = 0  # characters of the current line seen so far

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
        newlines = text.count("\n")
        if newlines:
            self._line += newlines
            self._column = len(text) - text.rfind("\n") - 1
        else:
            self._column += len(text)


FILE_HINT = "save the file as UTF-8, or name its encoding, e.g. --encoding cp1252"


def file_error(
    source: str, problem: InvalidUtf8, hint: str = "save the file as UTF-8"
) -> DataError:
    return DataError(f"{source}: {problem}; {hint}")


def transcoded(data: bytes, encoding: str, source: str) -> bytes:
    """``data`` decoded from ``encoding`` and encoded as UTF-8; a bad byte names its line."""
    try:
        decoder = codecs.getdecoder(encoding)
    except LookupError:
        raise DataError(f"{source}: unknown encoding {encoding!r}", field="encoding") from None
    try:
        text, _ = decoder(data)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{source}: line {line}: byte 0x{data[exc.start]:02x} is not {encoding} text; "
            "name the file's encoding with --encoding"
        ) from None
    return text.encode("utf-8")


def check_file(path: Path, file_format: str, source: str, hint: str = FILE_HINT) -> None:
    """Refuse a text file that is not UTF-8, naming the line; other formats pass unread."""
    if file_format not in TEXT_FORMATS:
        return
    check = Utf8Check()
    try:
        with path.open("rb") as handle:
            while block := handle.read(BLOCK_BYTES):
                check.feed(block)
        check.feed(b"", final=True)
    except InvalidUtf8 as problem:
        raise file_error(source, problem, hint) from None


def check_bytes(data: bytes, file_format: str, source: str) -> None:
    """The same as ``check_file`` for a file held in memory."""
    if file_format not in TEXT_FORMATS:
        return
    try:
        Utf8Check().feed(data, final=True)
    except InvalidUtf8 as problem:
        raise file_error(source, problem) from None
