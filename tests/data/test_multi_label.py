"""A multi-label classifier's data: its mode fixed at creation, texts with no label kept, its
labels the names its sets use and closed once it has a version (a new one only when the ingest
says so), splits by text hash as ever, and statistics, schema and anomalies per label name; a
single-label classifier's stay exactly as they were."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import func, select

from textloop.config import Settings
from textloop.data.datasets import ingest_table, load_splits
from textloop.data.label_sets import Mode, decode, encode, split_known
from textloop.data.readers import ReadOptions, read_labelled_file
from textloop.data.schema import Schema
from textloop.data.statistics import TextStatistics
from textloop.data.validation import validate_rows
from textloop.errors import DataError
from textloop.pipeline.ingestion import ingest_batch
from textloop.store import Store
from textloop.store.queries import get_classifier
from textloop.store.tables import Classifier, DatasetVersion, Example, Execution

MULTI = ReadOptions(multi_label=True)
TICKETS = (
    "text,label\n"
    "my refund never came,refund|billing\n"
    "I was charged twice,billing\n"
    "thanks for the help,\n"
    "card stolen and charged,card|billing|fraud\n"
    "the card does not work,card\n"
    ",billing\n"
)


def tickets(tmp_path: Path, content: str = TICKETS) -> pa.Table:
    data = tmp_path / "tickets.csv"
    data.write_text(content)
    return read_labelled_file(data, options=MULTI)


def executions(store: Store) -> int:
    """The pipeline steps recorded, of every run."""
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(Execution)) or 0


def counts(store: Store) -> tuple[int, int, int]:
    with store.session() as session:
        return (
            session.scalar(select(func.count()).select_from(Classifier)) or 0,
            session.scalar(select(func.count()).select_from(DatasetVersion)) or 0,
            session.scalar(select(func.count()).select_from(Example)) or 0,
        )


@pytest.mark.storage
def test_texts_with_no_label_are_kept_and_the_labels_are_the_names_the_sets_use(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    result = ingest_batch(
        store, settings, "tickets", tickets(tmp_path), "tickets", mode=Mode.MULTI_LABEL
    )
    assert (result.rows, result.dropped) == (5, 1)  # only the row without a text is dropped
    assert result.labels == ["billing", "card", "fraud", "refund"]
    with store.session() as session:
        classifier = get_classifier(session, "tickets")
        assert (classifier.mode, classifier.labels) == ("multi-label", result.labels)
        stored = load_splits(session, result.dataset_version_id)
    labels = sorted(label for _, found in stored.values() for label in found)
    assert labels == sorted(
        [encode(["refund", "billing"]), "billing", "", encode(["card", "billing", "fraud"]), "card"]
    )


@pytest.mark.storage
def test_a_set_too_long_for_a_label_column_of_old_is_stored_whole(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    names = [f"a label of some length number {i}" for i in range(30)]  # 1,000 characters
    table = tickets(tmp_path, "text,label\nmany labels," + "|".join(names) + "\n")
    result = ingest_batch(store, settings, "tickets", table, "tickets", mode=Mode.MULTI_LABEL)
    with store.session() as session:
        (stored,) = session.scalars(
            select(Example.label).where(Example.dataset_version_id == result.dataset_version_id)
        )
    assert decode(stored) == tuple(sorted(names))


@pytest.mark.storage
def test_a_file_read_in_the_other_mode_is_refused_and_writes_nothing(
    store: Store, settings: Settings, tmp_path: Path, corpus_csv: Path
) -> None:
    ingest_batch(store, settings, "topics", read_labelled_file(corpus_csv), "corpus")
    ingest_batch(store, settings, "tickets", tickets(tmp_path), "t", mode=Mode.MULTI_LABEL)
    before = counts(store)
    with pytest.raises(DataError) as refused:
        ingest_batch(store, settings, "topics", tickets(tmp_path), "t", mode=Mode.MULTI_LABEL)
    assert str(refused.value) == (
        "classifier 'topics' is single-label, fixed when it was created; this file was read as "
        "multi-label; ingest it without --multi-label, or into a new classifier"
    )
    assert refused.value.status_code == 422
    with pytest.raises(DataError, match=r"'tickets' is multi-label.*with --multi-label$"):
        ingest_batch(
            store, settings, "tickets", read_labelled_file(corpus_csv), "c", mode=Mode.SINGLE_LABEL
        )
    assert counts(store) == before


@pytest.mark.storage
def test_a_refused_first_ingest_leaves_no_multi_label_classifier_behind(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    with pytest.raises(DataError, match="no rows with a text"):
        ingest_batch(
            store,
            settings,
            "tickets",
            tickets(tmp_path, "text,label\n,a\n"),
            "t",
            mode=Mode.MULTI_LABEL,
        )
    assert counts(store) == (0, 0, 0)


@pytest.mark.storage
def test_a_name_an_existing_multi_label_classifier_does_not_know_is_refused_naming_the_row(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    ingest_batch(store, settings, "tickets", tickets(tmp_path), "t", mode=Mode.MULTI_LABEL)
    before, runs = counts(store), executions(store)
    later = tickets(
        tmp_path,
        "text,label\n"
        "hi,card\n"
        ",parcel\n"  # no text: dropped, so its label is never stored
        "where is my parcel,shipping|billing|returns\n"
        "and another,returns\n",
    )
    with pytest.raises(DataError) as refused:
        ingest_batch(store, settings, "tickets", later, "later.csv", mode=Mode.MULTI_LABEL)
    assert str(refused.value) == (
        "later.csv: row 3: 'returns' is not one of the labels of multi-label classifier "
        "'tickets' (billing, card, fraud, refund); to add a label, ingest with --new-labels"
    )
    assert refused.value.for_api().endswith("; to add a label, upload with new_labels=true")
    assert refused.value.status_code == 422
    assert (counts(store), executions(store)) == (before, runs)  # no version, no run
    with store.session() as session:
        assert get_classifier(session, "tickets").labels == ["billing", "card", "fraud", "refund"]


@pytest.mark.storage
def test_new_labels_adds_the_names_and_reports_them_as_a_new_label_is(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    ingest_batch(store, settings, "tickets", tickets(tmp_path), "t", mode=Mode.MULTI_LABEL)
    later = tickets(tmp_path, "text,label\nwhere is my parcel,shipping|billing\nhi,card\n")
    result = ingest_batch(
        store, settings, "tickets", later, "later", mode=Mode.MULTI_LABEL, new_labels=True
    )
    assert result.labels == ["billing", "card", "fraud", "refund", "shipping"]
    (unknown,) = [a for a in result.anomalies if a["kind"] == "unknown_label"]
    assert (unknown["severity"], unknown["count"]) == ("error", 1)
    assert unknown["message"] == "1 rows have labels the classifier does not know: 'shipping'"
    assert unknown["examples"] == [
        {"row": 1, "text": "where is my parcel", "labels": ["billing", "shipping"]}
    ]
    again = tickets(tmp_path, "text,label\nmy parcel is late,shipping\n")
    assert ingest_batch(store, settings, "tickets", again, "again", mode=Mode.MULTI_LABEL).created


@pytest.mark.storage
def test_a_single_label_classifier_still_takes_a_new_label_as_an_error_anomaly(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    first = pa.table({"text": ["my card", "a refund"], "label": ["card", "refund"]})
    ingest_batch(store, settings, "topics", first, "first", mode=Mode.SINGLE_LABEL)
    later = pa.table({"text": ["my parcel"], "label": ["shipping"]})
    result = ingest_batch(store, settings, "topics", later, "later", mode=Mode.SINGLE_LABEL)
    assert result.labels == ["card", "refund", "shipping"]
    (unknown,) = [a for a in result.anomalies if a["kind"] == "unknown_label"]
    assert (unknown["severity"], unknown["examples"]) == (
        "error",
        [{"row": 1, "text": "my parcel", "label": "shipping"}],
    )


@pytest.mark.storage
def test_each_text_keeps_the_split_its_hash_gives_whatever_the_mode(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    texts = [f"text number {i} about a card" for i in range(60)]
    single = pa.table({"text": texts, "label": ["card"] * 60})
    multi = pa.table({"text": texts, "label": [encode(["card", "billing"])] * 60})
    with store.session() as session:
        one = ingest_table(session, "single", single, "s", settings.split_fractions)
        two = ingest_table(
            session, "multi", multi, "m", settings.split_fractions, mode=Mode.MULTI_LABEL
        )
        splits = [
            {
                text: name
                for name, (found, _) in load_splits(session, version).items()
                for text in found
            }
            for version in (one.dataset_version_id, two.dataset_version_id)
        ]
    assert splits[0] == splits[1] and set(splits[0].values()) == {"train", "validation", "test"}


def test_the_same_set_in_any_order_is_one_row_and_one_content_hash(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    first = tickets(tmp_path, "text,label\na text,b|a\nsame text,a|b\nsame text,b|a|a\n")
    with store.session() as session:
        result = ingest_table(
            session, "t", first, "f", settings.split_fractions, mode=Mode.MULTI_LABEL
        )
    assert (result.rows, result.duplicates) == (2, 1)


def test_statistics_count_each_name_pairs_labels_per_text_and_texts_with_none() -> None:
    rows = [
        ("refund please", encode(["refund", "billing"])),
        ("charged twice", "billing"),
        ("thanks", ""),
        ("card stolen", encode(["card", "billing", "fraud"])),
        ("", "card"),  # no text: no text's labels
    ]
    summary = TextStatistics.of(rows, multi_label=True).summary()
    assert summary["labels"] == {"billing": 3, "card": 1, "fraud": 1, "refund": 1}
    assert summary["label_count"] == 4 and summary["imbalance_ratio"] == 3.0
    assert summary["texts_without_labels"] == 1
    assert summary["labels_per_text"] == {
        "mean": 1.5,
        "max": 3,
        "distribution": {"0": 1, "1": 1, "2": 1, "3": 1},
    }
    assert summary["co_occurrence"][0] == {"labels": ["billing", "card"], "texts": 1}
    assert len(summary["co_occurrence"]) == 4  # billing+refund, billing+card, billing+fraud, ...
    assert summary["mode"] == "multi-label" and summary["label_sets"] == 4


def test_multi_label_statistics_merge_exactly_and_survive_storage() -> None:
    a = [("one", encode(["x", "y"])), ("two", "x")]
    b = [("three", encode(["x", "y"])), ("one", "y"), ("four", "")]
    merged = TextStatistics.of(a, multi_label=True).merge(TextStatistics.of(b, multi_label=True))
    whole = TextStatistics.of(a + b, multi_label=True)
    assert merged.summary() == whole.summary()
    assert TextStatistics.from_dict(whole.to_dict()).summary() == whole.summary()
    assert whole.summary()["conflicting_texts"] == 1  # "one" with two different sets


def test_single_label_statistics_and_schema_are_stored_as_before() -> None:
    stats = TextStatistics.of([("a text", "x"), ("b text", "y"), ("", "")])
    assert set(stats.to_dict()) == {
        "rows",
        "empty_texts",
        "non_ascii_texts",
        "length_sum",
        "length_histogram",
        "label_counts",
        "text_labels",
        "vocabulary",
    }
    assert "mode" not in stats.summary() and stats.summary()["labels"] == {"": 1, "x": 1, "y": 1}
    assert set(Schema.infer(stats).to_dict()) == {
        "labels",
        "max_length",
        "label_distribution",
        "non_ascii_share",
    }


def test_the_schema_and_its_anomalies_are_per_name() -> None:
    reference = [
        ("refund please", encode(["refund", "billing"])),
        ("charged twice", "billing"),
        ("card stolen", encode(["card", "fraud"])),
    ]
    schema = Schema.infer(TextStatistics.of(reference, multi_label=True))
    assert schema.labels == ["billing", "card", "fraud", "refund"]
    assert schema.label_distribution["billing"] == pytest.approx(2 / 5)
    assert Schema.from_dict(schema.to_dict()) == schema
    batch = [("thanks", ""), ("charged again", "billing"), ("refund it", encode(["refund"]))]
    kinds = {a.kind: a for a in validate_rows(batch, schema)}
    assert "empty_label" not in kinds  # the empty set is an answer
    assert kinds["missing_label"].message == "2 known labels have no rows: card, fraud"
    assert "unknown_label" not in kinds


def test_a_stored_classifier_mode_defaults_to_the_single_label_mode() -> None:
    column = Classifier.__table__.c.mode
    assert column.default.arg == column.server_default.arg == Mode.SINGLE_LABEL


def test_an_answer_joined_by_the_separator_is_read_back_whole_names_first() -> None:
    """A set written as a file holds it (``card|refund``) is read against the names it can
    hold, so that a label whose name holds ``|`` (one ingested with another separator) is not
    cut in two."""
    names = ["card|debit", "refund", "card"]
    assert split_known("card|debit|refund", names) == ("card|debit", "refund")
    assert split_known("card|refund", names) == ("card", "refund")
    assert split_known("", names) == ()
    with pytest.raises(DataError, match="'fraud' is not a set of the labels"):
        split_known("fraud", names)
