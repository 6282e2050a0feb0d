"""``Workspace.ingest(..., multi_label=True)``: a DataFrame column of lists, or of names joined
by a separator, is a column of label sets, as a file's is for ``textloop ingest``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import textloop
from textloop.errors import DataError
from textloop.notebook import Workspace


@pytest.fixture
def workspace(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("TEXTLOOP_DATABASE_URL", database_url)
    return textloop.open(str(tmp_path / "data"), progress=False)


def test_a_column_of_lists_is_a_column_of_label_sets(workspace: Workspace) -> None:
    frame = pd.DataFrame(
        {
            "text": ["my refund never came", "thanks", "card stolen"],
            "label": [["refund", "billing"], [], ["card"]],
        }
    )
    with pytest.raises(DataError, match="holds lists of labels; pass --multi-label"):
        workspace.ingest("tickets", frame)
    result = workspace.ingest("tickets", frame, multi_label=True)
    assert (result.rows, result.labels) == (3, ["billing", "card", "refund"])
    joined = frame.assign(label=["refund;billing", "", "card"])
    again = workspace.ingest("tickets", joined, multi_label=True, label_separator=";")
    assert (again.created, again.content_hash) == (False, result.content_hash)


def test_a_label_the_classifier_does_not_know_is_refused_unless_new_labels(
    workspace: Workspace,
) -> None:
    first = pd.DataFrame(
        {"text": ["my refund never came", "card stolen"], "label": [["refund"], ["card"]]}
    )
    workspace.ingest("tickets", first, multi_label=True)
    later = pd.DataFrame({"text": ["where is my parcel"], "label": [["shipping", "refund"]]})
    with pytest.raises(DataError) as refused:
        workspace.ingest("tickets", later, multi_label=True)
    assert refused.value.message == (
        "DataFrame (1 rows): row 1: 'shipping' is not one of the labels of multi-label "
        "classifier 'tickets' (card, refund)"
    )
    added = workspace.ingest("tickets", later, multi_label=True, new_labels=True)
    assert (added.version, added.labels) == (2, ["card", "refund", "shipping"])
