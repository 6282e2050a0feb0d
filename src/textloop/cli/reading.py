"""The options of every command that reads a data file, and how it says what it decided.

``ingest``, ``validate`` and ``pool add`` take the same four: ``--format``, ``--delimiter``,
``--encoding`` and ``--skip-bad-rows``; ``ingest`` and ``validate`` also ``--label-separator``,
for a multi-label classifier's label sets. What the reader decided by itself (the delimiter it
sniffed, the rows it skipped) is printed on stderr once the file has been read, so that stdout
stays one JSON document under ``--json`` and a refused file prints only its error.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer

from textloop.cli.output import err
from textloop.data.label_sets import DEFAULT_SEPARATOR
from textloop.data.readers import ReadOptions

FileFormat = Annotated[
    str | None,
    typer.Option(
        "--format",
        help="The file's format: csv, tsv, jsonl, json, parquet, xlsx, label-studio or argilla "
        "(default: by extension; a .json/.jsonl file is JSON Lines unless its first record is a "
        "Label Studio task or an Argilla record).",
    ),
]
Delimiter = Annotated[
    str | None,
    typer.Option(
        help="Field delimiter of a CSV/TSV file, e.g. ';' or '\\t' (default: tab for .tsv, "
        "sniffed for .csv among , ; tab |).",
    ),
]
Encoding = Annotated[
    str | None,
    typer.Option(help="Encoding of a CSV/TSV/JSON file, e.g. cp1252 (default: UTF-8)."),
]
SkipBadRows = Annotated[
    bool,
    typer.Option(
        "--skip-bad-rows",
        help="Skip bad rows (a CSV/TSV row with more or fewer fields than the header, a text "
        "over 10,000 or a label over 200 characters) instead of refusing the file; counted, "
        "lines named.",
    ),
]
LabelSeparator = Annotated[
    str | None,
    typer.Option(
        help="What joins the labels of a set in a label cell (default '|'); a multi-label "
        "classifier's only.",
    ),
]


def read_options(
    delimiter: str | None,
    encoding: str | None,
    skip_bad_rows: bool,
    file_format: str | None = None,
) -> ReadOptions:
    if delimiter in ("\\t", "tab"):
        delimiter = "\t"
    return ReadOptions(
        delimiter=delimiter,
        encoding=encoding,
        skip_bad_rows=skip_bad_rows,
        file_format=file_format,
    )


def label_set_options(
    options: ReadOptions, multi_label: bool, separator: str | None
) -> ReadOptions:
    """``options`` reading the label column as label sets when ``multi_label``."""
    if not multi_label:
        return options
    return replace(options, multi_label=True, label_separator=separator or DEFAULT_SEPARATOR)


class Notes:
    """Collects what readers announce; ``show`` prints it once the read has succeeded."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)

    def show(self) -> None:
        for line in self.lines:
            err.print(line, highlight=False, markup=False, soft_wrap=True)
        self.lines.clear()
