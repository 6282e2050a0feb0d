"""A multi-label read of an annotation tool's export: a Label Studio multiple choice and an
Argilla multi-label answer become label sets, an annotation that chose nothing is the empty set,
a record nobody answered is left out and counted, and the rules of which answer counts (a
cancelled or discarded one does not; annotators who disagree are named) stay those of a
single-label read."""

import json
from pathlib import Path
from typing import Any

import pytest

from tests.annotation_exports import (
    annotation,
    argilla_tags_record,
    argilla_v1_record,
    choices,
    tags,
    task,
)
from textloop.config import Settings
from textloop.data.label_sets import Mode, decode
from textloop.data.readers import ReadOptions, read_labelled_file
from textloop.errors import DataError
from textloop.pipeline.ingestion import ingest_batch
from textloop.store import Store


def write(path: Path, records: list[Any]) -> Path:
    path.write_text(json.dumps(records, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def read_sets(
    path: Path, label_column: str = "tags", notes: list[str] | None = None, **options: Any
) -> list[tuple[str, tuple[str, ...]]]:
    """Each row's text and label set, as a multi-label read gives them."""
    table = read_labelled_file(
        path,
        label_column=label_column,
        options=ReadOptions(multi_label=True, **options),
        notify=None if notes is None else notes.append,
    )
    texts, labels = table.column("text").to_pylist(), table.column("label").to_pylist()
    return [(text, decode(label)) for text, label in zip(texts, labels, strict=True)]


def test_label_studio_choices_are_a_set_and_choosing_nothing_is_the_empty_set(
    tmp_path: Path,
) -> None:
    export = write(
        tmp_path / "export.json",
        [
            task(1, "refund my stolen card", annotation(tags("refund", "card"))),
            task(2, "charged twice", annotation(tags("billing"))),
            task(3, "thanks for the help", annotation()),  # submitted with nothing ticked
            task(4, "nobody looked at this one"),
            task(5, "everyone skipped this one", annotation(cancelled=True)),
            task(6, "one skipped, one answered", annotation(cancelled=True), annotation(tags())),
            task(7, "tone only", annotation(choices("calm", control="tone"))),
        ],
    )
    notes: list[str] = []
    assert read_sets(export, notes=notes) == [
        ("refund my stolen card", ("card", "refund")),
        ("charged twice", ("billing",)),
        ("thanks for the help", ()),
        ("one skipped, one answered", ()),
        ("tone only", ()),  # answered another control, ticked none of the tags
    ]
    assert notes == [f"left out 2 rows of {export} that nobody answered (task 4, task 5)"]


def test_label_studio_annotators_who_tick_the_same_set_agree_and_others_are_named(
    tmp_path: Path,
) -> None:
    export = write(
        tmp_path / "export.json",
        [
            task(
                1,
                "refund my stolen card",
                annotation(tags("refund", "card")),
                annotation(tags("card", "refund", "card"), by=11),
            ),
            task(8, "charged twice", annotation(tags("billing")), annotation(by=11)),
            task(
                9, "lost card", annotation(tags("card")), annotation(tags("card", "fraud"), by=11)
            ),
        ],
    )
    with pytest.raises(DataError) as refused:
        read_sets(export)
    assert refused.value.message == (
        f"{export}: task 8: the annotators of 'tags' disagree ([], [billing]): settle it in "
        "Label Studio (2 such rows), or skip such rows (--skip-bad-rows; skip_bad_rows=true on "
        "an upload)"
    )
    notes: list[str] = []
    kept = read_sets(export, notes=notes, skip_bad_rows=True)
    assert kept == [("refund my stolen card", ("card", "refund"))]
    assert notes == [f"skipped 2 rows of {export} without a single label (task 8, task 9)"]


def test_another_controls_several_choices_stay_an_extra_that_is_left_empty(
    tmp_path: Path,
) -> None:
    export = write(
        tmp_path / "export.json",
        [task(1, "fine", annotation(tags("billing"), choices("calm", "formal", control="tone")))],
    )
    table = read_labelled_file(export, label_column="tags", options=ReadOptions(multi_label=True))
    assert table.column("extra:tone").to_pylist() == [None]


def test_a_label_name_holding_the_separator_is_refused_naming_the_task(tmp_path: Path) -> None:
    export = write(
        tmp_path / "export.json",
        [task(1, "fine", annotation(tags("billing"))), task(4, "odd", annotation(tags("a|b")))],
    )
    with pytest.raises(DataError) as refused:
        read_sets(export)
    assert str(refused.value) == (
        f"{export}: task 4: the label name 'a|b' contains the label separator '|'; choose "
        "another with --label-separator"
    )
    assert read_sets(export, label_separator=";")[1] == ("odd", ("a|b",))


def test_a_single_label_read_refuses_several_choices_saying_to_pass_multi_label(
    tmp_path: Path,
) -> None:
    export = write(tmp_path / "export.json", [task(3, "both", annotation(tags("card", "refund")))])
    with pytest.raises(DataError) as refused:
        read_labelled_file(export, label_column="tags")
    assert refused.value.message == (
        f"{export}: task 3: 'tags' has 2 labels chosen (card, refund) in a single-label read: "
        "keep one in Label Studio, pass --multi-label (multi_label=true on an upload) to read "
        "label sets, or skip such rows (--skip-bad-rows; skip_bad_rows=true on an upload)"
    )


def test_argilla_2_multi_label_responses_are_sets_and_suggestions_are_not_read(
    tmp_path: Path,
) -> None:
    discarded = argilla_tags_record("r5", "rain at the match", ["sport"])
    discarded["responses"]["tags"] = [
        {"value": ["sport"], "user_id": "u1", "status": "discarded"},
        {"value": ["weather"], "user_id": "u2", "status": "draft"},
    ]
    export = write(
        tmp_path / "records.json",
        [
            argilla_tags_record("r1", "the striker scored", ["sport"], ["sport"]),
            argilla_tags_record(
                "r2", "the club's shares fell", ["sport", "finance"], suggested=["finance"]
            ),
            argilla_tags_record("r3", "hello there", []),
            argilla_tags_record("r4", "not yet", suggested=["weather"]),
            discarded,
            argilla_tags_record("r6", "a single answer", "finance"),  # a LabelQuestion's value
        ],
    )
    notes: list[str] = []
    assert read_sets(export, notes=notes) == [
        ("the striker scored", ("sport",)),
        ("the club's shares fell", ("finance", "sport")),
        ("hello there", ()),
        ("a single answer", ("finance",)),
    ]
    assert notes == [f"left out 2 rows of {export} that nobody answered (record r4, record r5)"]


def test_argilla_2_responses_of_other_sets_are_refused_naming_the_record(tmp_path: Path) -> None:
    export = write(
        tmp_path / "records.json",
        [argilla_tags_record("r9", "rain at the match", ["sport", "weather"], ["sport"])],
    )
    with pytest.raises(DataError, match=r"record r9: the annotators of 'tags' disagree "):
        read_sets(export)
    with pytest.raises(DataError, match=r"\(\[sport\], \[sport, weather\]\): settle it in Argilla"):
        read_sets(export)


def test_a_single_label_read_of_an_argilla_2_multi_label_answer_is_as_before(
    tmp_path: Path,
) -> None:
    export = write(
        tmp_path / "records.json",
        [
            argilla_tags_record("r1", "one", ["sport"]),
            argilla_tags_record("r2", "two", ["sport", "finance"]),
        ],
    )
    with pytest.raises(DataError, match=r"record r2: 'tags' has 2 labels chosen .* --multi-label"):
        read_labelled_file(export, label_column="tags")
    kept = read_labelled_file(export, label_column="tags", options=ReadOptions(skip_bad_rows=True))
    assert kept.to_pylist() == [{"text": "one", "label": "sport"}]


def test_argilla_1_multi_label_annotations_are_sets_when_validated(tmp_path: Path) -> None:
    export = tmp_path / "dataset.jsonl"
    records = [
        argilla_v1_record("1", "the striker scored", ["sport"], multi_label=True),
        argilla_v1_record("2", "shares of the club fell", ["finance", "sport"], multi_label=True),
        argilla_v1_record("3", "hello there", [], multi_label=True),
        argilla_v1_record("4", "thrown away", ["sport"], status="Discarded", multi_label=True),
        argilla_v1_record("5", "never confirmed", ["finance"], status="Default", multi_label=True),
        argilla_v1_record("6", "a single-label record", "weather"),
    ]
    export.write_text("".join(json.dumps(record) + "\n" for record in records))
    notes: list[str] = []
    assert read_sets(export, label_column="annotation", notes=notes) == [
        ("the striker scored", ("sport",)),
        ("shares of the club fell", ("finance", "sport")),
        ("hello there", ()),
        ("a single-label record", ("weather",)),
    ]
    assert notes == [f"left out 2 rows of {export} that nobody answered (record 4, record 5)"]


def test_an_export_read_multi_label_is_ingested_as_label_sets(
    tmp_path: Path, store: Store, settings: Settings
) -> None:
    export = write(
        tmp_path / "export.json",
        [
            task(1, "refund my stolen card", annotation(tags("refund", "card"))),
            task(2, "charged twice", annotation(tags("billing"))),
            task(3, "thanks for the help", annotation()),
            task(4, "nobody looked at this one"),
        ],
    )
    table = read_labelled_file(export, label_column="tags", options=ReadOptions(multi_label=True))
    result = ingest_batch(store, settings, "tickets", table, "export.json", mode=Mode.MULTI_LABEL)
    assert (result.rows, result.dropped) == (3, 0)
    assert result.labels == ["billing", "card", "refund"]


def test_a_label_that_no_database_stores_is_refused_naming_the_record(tmp_path: Path) -> None:
    export = tmp_path / "records.json"
    record = argilla_tags_record("r2", "fine", ["sport"])
    export.write_text(json.dumps([record]).replace('"sport"', '"sp\\ud800rt"'))
    with pytest.raises(DataError, match=r"record r2: 'tags' contains an unpaired surrogate"):
        read_sets(export)
