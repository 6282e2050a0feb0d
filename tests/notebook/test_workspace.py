"""``textloop.open``: a data directory's operations in process, with the CLI's checks and
errors; a server URL gives the HTTP client instead."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import textloop
from tests.corpus import corpus_rows
from textloop.errors import InvalidRequest, NotFound
from textloop.notebook import Workspace


@pytest.fixture
def workspace(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("TEXTLOOP_DATABASE_URL", database_url)
    return textloop.open(str(tmp_path / "data"), progress=False)


def frame(per_label: int = 30) -> pd.DataFrame:
    return pd.DataFrame(corpus_rows(per_label), columns=["text", "label"])


def test_a_dataframe_is_ingested_as_a_file_with_the_same_rows_would_be(
    workspace: Workspace, tmp_path: Path
) -> None:
    data = frame()
    from_frame = workspace.ingest("topics", data)
    data.to_csv(tmp_path / "same.csv", index=False)
    from_file = workspace.ingest("topics", tmp_path / "same.csv")
    assert from_frame.rows == len(data) and from_frame.created
    assert from_file.content_hash == from_frame.content_hash and not from_file.created


def test_bad_input_is_refused_by_name_and_stores_nothing(workspace: Workspace) -> None:
    with pytest.raises(InvalidRequest, match="DataFrame or a file path, not list"):
        workspace.ingest("topics", [("a text", "a label")])  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        workspace.models("topics")


def test_versions_are_compared_side_by_side_and_unknown_ones_refused(
    workspace: Workspace,
) -> None:
    workspace.ingest("topics", frame())
    first = workspace.train("topics", model="majority")
    second = workspace.train("topics", model="ngram")
    table = workspace.compare("topics")
    assert list(table["version"]) == [first.version, second.version]
    assert table["accuracy_change"].iloc[1] == pytest.approx(
        second.test_metrics["accuracy"] - first.test_metrics["accuracy"]
    )
    with pytest.raises(InvalidRequest, match="no model version 9"):
        workspace.compare("topics", [first.version, 9])


def test_lineage_needs_exactly_one_starting_point(workspace: Workspace) -> None:
    with pytest.raises(InvalidRequest, match="give one of"):
        workspace.lineage()
    with pytest.raises(InvalidRequest, match="give one of"):
        workspace.lineage(dataset=1)


def test_a_server_url_opens_the_http_client() -> None:
    with textloop.open("http://127.0.0.1:9", api_key="tl_example") as client:
        assert isinstance(client, textloop.Client)


def test_a_classifier_with_no_model_compares_as_an_empty_table(workspace: Workspace) -> None:
    workspace.ingest("topics", frame())
    table = workspace.compare("topics")
    assert table.empty and "accuracy_change" in table.columns
