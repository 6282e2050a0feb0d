"""A Label Studio export is a labelled file like any other: one row per task, ``--text-column``
choosing a data field and ``--label-column`` a Choices control; a task that does not give one
label is named, never guessed."""

import json
from pathlib import Path
from typing import Any

import pytest

from tests.annotation_exports import annotation, choices, task
from textloop.config import Settings
from textloop.data.readers import ReadOptions, read_labelled_file, read_text_file
from textloop.errors import DataError
from textloop.pipeline.ingestion import ingest_batch
from textloop.store import Store


def write(path: Path, tasks: list[Any]) -> Path:
    path.write_text(json.dumps(tasks, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def read(path: Path, **options: Any) -> list[dict[str, Any]]:
    notes: list[str] = []
    table = read_labelled_file(
        path, label_column="sentiment", options=ReadOptions(**options), notify=notes.append
    )
    return table.to_pylist()


def test_each_task_is_a_row_of_its_text_its_label_and_its_other_data_fields(
    tmp_path: Path,
) -> None:
    export = write(
        tmp_path / "export.json",
        [
            task(1, "Opossums are great", annotation(choices("Positive")), ref_id=456),
            task(2, "Opossums bite", annotation(choices("Négatif")), predicted="Positive"),
        ],
    )
    assert read(export) == [
        {"text": "Opossums are great", "label": "Positive", "extra:ref_id": "456"},
        {"text": "Opossums bite", "label": "Négatif", "extra:ref_id": None},
    ]  # the model's prediction is no label: the annotation is


def test_a_nested_data_field_is_left_out_and_the_text_field_is_chosen_by_name(
    tmp_path: Path,
) -> None:
    export = write(
        tmp_path / "export.json",
        [
            {
                "data": {"my_text": "Opossums are great", "meta_info": {"location": "North Pole"}},
                "annotations": [
                    annotation(choices("Positive", control="sentiment_class", to_name="message"))
                ],
            }
        ],
    )
    table = read_labelled_file(export, text_column="my_text", label_column="sentiment_class")
    assert table.to_pylist() == [{"text": "Opossums are great", "label": "Positive"}]


def test_the_label_column_names_the_choices_control(tmp_path: Path) -> None:
    export = write(tmp_path / "export.json", [task(1, "fine", annotation(choices("Positive")))])
    with pytest.raises(DataError, match=r"column 'label' not found \(columns found: text, sentim"):
        read_labelled_file(export)


def test_a_task_nobody_labelled_or_everyone_skipped_has_no_label_and_ingest_drops_it(
    tmp_path: Path, store: Store, settings: Settings
) -> None:
    export = write(
        tmp_path / "export.json",
        [
            task(1, "the match was great", annotation(choices("Positive"))),
            task(2, "the match was dull", annotation(choices("Negative"))),
            task(3, "nobody looked at this one"),
            task(4, "everyone skipped this one", annotation(cancelled=True)),
            task(
                5,
                "one skipped, one answered",
                annotation(cancelled=True),
                annotation(choices("Negative")),
            ),
        ],
    )
    assert [row["label"] for row in read(export)] == [
        "Positive",
        "Negative",
        None,
        None,
        "Negative",
    ]
    table = read_labelled_file(export, label_column="sentiment")
    result = ingest_batch(store, settings, "reviews", table, "export.json")
    assert (result.rows, result.dropped, sorted(result.labels)) == (3, 2, ["Negative", "Positive"])


def test_annotators_who_agree_give_one_label(tmp_path: Path) -> None:
    export = write(
        tmp_path / "export.json",
        [task(1, "fine", annotation(choices("Positive")), annotation(choices("Positive"), by=11))],
    )
    assert [row["label"] for row in read(export)] == ["Positive"]


def test_annotators_who_disagree_refuse_the_file_naming_the_task_or_are_skipped(
    tmp_path: Path,
) -> None:
    export = write(
        tmp_path / "export.json",
        [
            task(1, "fine", annotation(choices("Positive"))),
            task(7, "hmm", annotation(choices("Positive")), annotation(choices("Negative"), by=11)),
        ],
    )
    with pytest.raises(DataError) as refused:
        read(export)
    assert refused.value.message == (
        f"{export}: task 7: the annotators of 'sentiment' disagree (Negative, Positive): "
        "settle it in Label Studio, or skip such rows (--skip-bad-rows; skip_bad_rows=true on "
        "an upload)"
    )
    notes: list[str] = []
    table = read_labelled_file(
        export,
        label_column="sentiment",
        options=ReadOptions(skip_bad_rows=True),
        notify=notes.append,
    )
    assert table.column("text").to_pylist() == ["fine"]
    assert notes == [f"skipped 1 rows of {export} without a single label (task 7)"]


def test_several_choices_in_a_single_label_read_are_refused_naming_the_task(
    tmp_path: Path,
) -> None:
    export = write(
        tmp_path / "export.json", [task(3, "both", annotation(choices("Positive", "Negative")))]
    )
    with pytest.raises(DataError, match="task 3: 'sentiment' has 2 labels chosen"):
        read(export)
    with pytest.raises(
        DataError,
        match=r"in a single-label read: keep one in Label Studio, pass --multi-label "
        r"\(multi_label=true on an upload\) to read label sets, or skip such rows",
    ):
        read(export)


def test_another_controls_answers_are_an_extra_column_whatever_they_are(tmp_path: Path) -> None:
    tone = "tone"
    export = write(
        tmp_path / "export.json",
        [
            task(
                1,
                "fine",
                annotation(choices("Positive"), choices("calm", "formal", control=tone)),
            ),
            task(
                2,
                "bad",
                annotation(choices("Negative"), choices("angry", control=tone)),
                annotation(choices("Negative"), choices("rude", control=tone), by=11),
            ),
        ],
    )
    assert read(export) == [
        {"text": "fine", "label": "Positive", "extra:tone": None},
        {"text": "bad", "label": "Negative", "extra:tone": None},
    ]  # tone's several choices and disagreement matter only if tone were the label


def test_tasks_of_label_studio_before_1_0_hold_completions(tmp_path: Path) -> None:
    old = {"data": {"text": "fine"}, "completions": [annotation(choices("Positive"))]}
    assert read(write(tmp_path / "export.json", [old])) == [{"text": "fine", "label": "Positive"}]


def test_a_task_without_data_or_a_malformed_result_is_refused_by_its_place(
    tmp_path: Path,
) -> None:
    no_data = write(tmp_path / "a.json", [task(1, "fine"), {"annotations": []}])
    with pytest.raises(DataError, match=r"task at position 2: not a Label Studio task"):
        read_labelled_file(no_data, options=ReadOptions(file_format="label-studio"))
    broken = {"from_name": "sentiment", "type": "choices", "value": {"choices": "Positive"}}
    malformed = write(tmp_path / "b.json", [task(9, "fine", annotation(broken))])
    with pytest.raises(DataError, match=r'task 9: a "choices" result needs a "from_name"'):
        read(malformed)


def test_a_json_file_is_json_lines_unless_its_first_record_is_an_export(
    tmp_path: Path,
) -> None:
    lines = tmp_path / "plain.json"
    lines.write_text('{"text": "fine", "label": "a"}\n{"text": "bad", "label": "b"}\n')
    assert read_labelled_file(lines).column("label").to_pylist() == ["a", "b"]
    array = write(tmp_path / "array.json", [{"text": "fine", "label": "a"}])
    with pytest.raises(DataError, match="a JSON array that is not a Label Studio or Argilla"):
        read_labelled_file(array)


def test_the_format_can_be_named_whatever_the_extension(tmp_path: Path) -> None:
    export = write(tmp_path / "export.txt", [task(1, "fine", annotation(choices("Positive")))])
    assert read(export, file_format="label-studio") == [{"text": "fine", "label": "Positive"}]
    with pytest.raises(DataError, match="unknown format 'labelstudio'; use one of argilla, csv"):
        read(export, file_format="labelstudio")


def test_the_pool_takes_the_texts_of_an_export(tmp_path: Path) -> None:
    export = write(
        tmp_path / "export.json",
        [task(1, "labelled", annotation(choices("Positive"))), task(2, "not yet")],
    )
    assert read_text_file(export) == ["labelled", "not yet"]
