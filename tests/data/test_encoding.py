"""UTF-8 checked as a file streams past, in blocks of any size, naming line and column."""

import pytest

from textloop.data.encoding import (
    MAX_LINE,
    InvalidUtf8,
    LineTooLong,
    Transcoder,
    UnsupportedEncoding,
    Utf8Check,
    text_check,
    text_encoding,
)
from textloop.errors import DataError, DataTooLarge

TEXT = "text,label\nnaïve café,a\n€ and 𝄞 ok,b\n".encode()


def first_problem(data: bytes, block: int) -> str | None:
    check = Utf8Check()
    try:
        for start in range(0, len(data), block):
            check.feed(data[start : start + block])
        check.feed(b"", final=True)
    except InvalidUtf8 as problem:
        return str(problem)
    return None


@pytest.mark.parametrize("block", [1, 2, 3, 5, 1 << 20])
def test_characters_cut_between_blocks_are_fine(block: int) -> None:
    assert first_problem(TEXT, block) is None


@pytest.mark.parametrize("block", [1, 2, 3, 5, 1 << 20])
def test_the_first_bad_byte_is_named_with_its_line_and_column_in_characters(block: int) -> None:
    data = TEXT + "αβγ".encode() + b"\xc0\xafx\n\xff"
    assert first_problem(data, block) == "line 4: invalid UTF-8 (byte 0xc0 at column 4)"


def test_a_character_cut_off_at_the_end_is_invalid() -> None:
    assert first_problem(TEXT + "€".encode()[:2], 4) == (
        "line 4: invalid UTF-8 (byte 0xe2 at column 1)"
    )


@pytest.mark.parametrize("codec", ["zlib", "bz2", "base64", "hex", "rot13", "uu", "quopri"])
def test_only_text_encodings_are_accepted_by_name(codec: str) -> None:
    with pytest.raises(UnsupportedEncoding, match=f"'{codec}' is not a text encoding"):
        text_encoding(codec, "upload")


def test_text_encodings_are_named_as_their_codec_names_them() -> None:
    assert [text_encoding(n, "x") for n in ("UTF8", "latin-1", "cp1252", "utf-16")] == [
        "utf-8",
        "iso8859-1",
        "cp1252",
        "utf-16",
    ]
    with pytest.raises(UnsupportedEncoding, match="unknown encoding 'klingon'"):
        text_encoding("klingon", "x")


def test_a_transcoder_refuses_output_past_its_limit_as_it_happens() -> None:
    transcoder = Transcoder("utf-16", "upload", limit=1000)
    block = "é".encode("utf-16-le") * 200  # 400 bytes of UTF-8 each time
    transcoder.feed(b"\xff\xfe" + block)
    transcoder.feed(block)
    with pytest.raises(DataTooLarge, match="over 1,000 bytes"):
        transcoder.feed(block)


def test_a_transcoder_names_the_line_of_a_byte_its_encoding_does_not_define() -> None:
    transcoder = Transcoder("ascii", "data.csv", limit=1 << 20)
    transcoder.feed(b"text\nok\n")
    with pytest.raises(DataError, match=r"data\.csv: line 3: byte 0xe9 is not ascii"):
        transcoder.feed(b"caf\xe9\n")


@pytest.mark.parametrize("block", [1, 7, 1 << 20])
def test_a_line_past_the_limit_is_refused_as_soon_as_it_passes_it(block: int) -> None:
    check = Utf8Check(max_line=10)
    data = b"short\n0123456789\n01234567890 and on and on"
    with pytest.raises(LineTooLong, match="line 3 is over 10 characters"):
        for start in range(0, len(data), block):
            check.feed(data[start : start + block])


def test_lines_of_a_json_export_are_not_bounded_but_those_of_csv_and_jsonl_are() -> None:
    assert text_check("label-studio")._max_line is None
    assert text_check("csv")._max_line == text_check("jsonl")._max_line == MAX_LINE
    assert text_check("parquet") is None
