"""A multi-label model leaves textloop as a bundle, not yet as an MLflow model, and a bundle comes
back only into a classifier of its own mode: label sets cannot be served by a single-label
classifier, nor single labels by a multi-label one."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.processes import environment, run_cli
from textloop.bundles.export import export_bundle, locate
from textloop.bundles.importing import import_bundle
from textloop.bundles.mlflow_export import export_to_mlflow
from textloop.config import Settings
from textloop.errors import InvalidRequest
from textloop.store import Store
from textloop.store.tables import ModelVersion

NO_MLFLOW = (
    "the MLflow model of a multi-label classifier ('tags') is not available yet; export a "
    "bundle with textloop export"
)


def model_versions(store: Store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(ModelVersion)) or 0


def test_the_mlflow_model_of_a_multi_label_classifier_is_refused_before_anything_is_written(
    both_modes: Store, settings: Settings, tmp_path: Path
) -> None:
    tracking = tmp_path / "mlflow.db"
    with both_modes.session() as session:
        found = locate(session, "tags", None)
    with pytest.raises(InvalidRequest) as refused:
        export_to_mlflow(settings, found, f"sqlite:///{tracking}")
    assert refused.value.message == NO_MLFLOW
    env = environment(settings.data_dir, settings.database_url)
    done = run_cli(env, "export-mlflow", "tags", "--tracking-uri", f"sqlite:///{tracking}")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [f"error: {NO_MLFLOW}"]
    assert not tracking.exists()


def test_a_bundle_comes_back_only_into_a_classifier_of_its_own_mode(
    both_modes: Store, settings: Settings, tmp_path: Path
) -> None:
    with both_modes.session() as session:
        tags, topics = locate(session, "tags", None), locate(session, "topics", None)
    multi = export_bundle(settings, tags, tmp_path / "tags").path
    single = export_bundle(settings, topics, tmp_path / "topics").path
    with pytest.raises(InvalidRequest) as refused:
        import_bundle(both_modes, settings, multi, "topics")
    assert refused.value.message == (
        "the bundle holds a multi-label model and classifier 'topics' is single-label; import "
        "it into a multi-label classifier"
    )
    with pytest.raises(InvalidRequest) as refused:
        import_bundle(both_modes, settings, single, "tags")
    assert refused.value.message == (
        "the bundle holds a single-label model and classifier 'tags' is multi-label; import "
        "it into a single-label classifier"
    )
    assert model_versions(both_modes) == 2  # nothing registered
    back = import_bundle(both_modes, settings, multi)
    assert (back.classifier, back.version, back.source["classifier"]) == ("tags", 2, "tags")
    again = import_bundle(both_modes, settings, single, "topics")
    assert (again.classifier, again.version) == ("topics", 2)
