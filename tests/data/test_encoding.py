"""UTF-8 checked as a file streams past, in blocks of any size, naming line and column."""

import pytest

from textloop.data.encoding import InvalidUtf8, Utf8Check

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
