"""``textloop.open``: a data directory's operations in process, with the CLI's checks and
errors; a server URL gives the HTTP client instead. Its artifacts may be in a local folder or on
an S3-compatible store, as the CLI's and the server's may (these tests also run in the S3 pass)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import textloop
from tests.corpus import TOPICS, corpus_rows
from tests.s3_server import S3Server
from textloop.errors import InvalidRequest, NotFound
from textloop.notebook import Workspace


@pytest.fixture
def workspace(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("TEXTLOOP_DATABASE_URL", database_url)
    return textloop.open(str(tmp_path / "data"), progress=False)


@pytest.fixture
def workspace_on_s3(
    workspace: Workspace,
    artifact_root: str | None,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> Workspace:
    """A workspace whose artifacts are on the S3-compatible server: in the S3 pass the test's
    own prefix; otherwise a fresh bucket on the session's server, so the default pass too
    keeps a notebook on S3 working."""
    if artifact_root is not None:
        return workspace
    server: S3Server = request.getfixturevalue("s3")
    for name, value in server.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TEXTLOOP_ARTIFACT_ROOT", f"s3://{server.bucket()}/notebook")
    return textloop.open(str(workspace.settings.data_dir), progress=False)


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


def classified_by_a_deployed_model(workspace: Workspace) -> pd.DataFrame:
    """Train ``topics`` and deploy it (once through the pipeline's step, once by hand, as a
    notebook may), then classify one text of each topic."""
    workspace.ingest("topics", frame())
    first = workspace.train("topics", model="majority", deploy=True)
    trained = workspace.train("topics", model="ngram")
    deployment = workspace.deploy("topics", trained.version)
    assert (deployment.previous_version, deployment.version) == (first.version, trained.version)
    table = workspace.classify(
        "topics", [f"the {words[0]} and the {words[1]}" for words in TOPICS.values()]
    )
    assert set(table["label"]) <= set(TOPICS)
    for prediction_id in table["prediction_id"]:  # stored, as over the API, to trace or review
        lineage = workspace.lineage(prediction=prediction_id)
        assert lineage["model"]["version"] == trained.version
    return table


def test_the_production_model_classifies_and_every_prediction_is_stored(
    workspace: Workspace,
) -> None:
    table = classified_by_a_deployed_model(workspace)
    assert list(table.columns) == ["text", "label", "confidence", "review", "prediction_id"]
    assert len(table) == len(TOPICS)
    assert table["confidence"].between(0, 1).all()


def test_a_workspace_whose_artifacts_are_on_s3_classifies(workspace_on_s3: Workspace) -> None:
    assert str(workspace_on_s3.settings.artifact_root).startswith("s3://")
    table = classified_by_a_deployed_model(workspace_on_s3)
    assert len(table) == len(TOPICS)
