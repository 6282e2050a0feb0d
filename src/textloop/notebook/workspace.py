"""``textloop.open(data_dir)``: the command line's operations in a Python process, for notebooks
and scripts, answering with objects and pandas DataFrames instead of printed tables.

A ``Workspace`` calls the same services the CLI calls (ingestion, the training pipeline, deploy,
classify, batch classification, lineage); it never runs a command, and the CLI never calls it.
Long steps draw Rich progress bars, which Rich renders in a notebook's output cell.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textloop.artifacts import artifacts_for
from textloop.config import Settings
from textloop.errors import InvalidRequest

if TYPE_CHECKING:
    import pandas as pd

    from textloop.batch.run import BatchSummary
    from textloop.data.datasets import IngestResult
    from textloop.pipeline.report import TrainReport
    from textloop.predict.model_cache import ModelCache
    from textloop.registry.aliases import AliasMove
    from textloop.store import Store

METRIC_COLUMNS = ("accuracy", "macro_f1", "ece")  # the test metrics ``models`` shows


class Workspace:
    """One data directory (its database and artifacts, as ``Settings`` find them)."""

    def __init__(self, settings: Settings, progress: bool = True) -> None:
        self.settings = settings
        self.progress = progress

    def __repr__(self) -> str:
        return f"Workspace({str(self.settings.data_dir)!r})"

    @cached_property
    def store(self) -> Store:
        """The database, migrated to the newest schema on first use."""
        from textloop.store import open_store

        return open_store(self.settings)

    @cached_property
    def _models(self) -> ModelCache:
        from textloop.models.base import ModelResources, Use
        from textloop.predict.model_cache import ModelCache

        # Loaded as a replica loads them, so a notebook's answers are the server's.
        resources = ModelResources.for_settings(self.settings, Use.SERVING)
        # The store as the CLI and the server build it: a remote root (``s3://...``) needs the
        # settings' endpoint and cache folder, which a bare root does not carry.
        return ModelCache(artifacts_for(self.settings), resources)

    def ingest(
        self,
        classifier: str,
        data: pd.DataFrame | str | Path,
        text_column: str = "text",
        label_column: str = "label",
        test: pd.DataFrame | str | Path | None = None,
        multi_label: bool = False,
        label_separator: str = "|",
        new_labels: bool = False,
    ) -> IngestResult:
        """Store ``data`` (a DataFrame, or a file of any format ``textloop ingest`` reads) as a
        new dataset version of ``classifier``, created if new; ``test``: rows that form the
        fixed test split. The rows go through the same reading and checks as a file's.
        ``multi_label``: each label cell is a set of labels, a list (a DataFrame column of
        lists) or names joined by ``label_separator``; a new classifier keeps it for good.
        Once a multi-label classifier has a version, a label name it does not know is refused
        (a ``DataError`` naming the row) unless ``new_labels``."""
        from textloop.data.datasets import with_fixed_test_split
        from textloop.data.label_sets import Mode
        from textloop.data.readers import ReadOptions, read_labelled_file
        from textloop.pipeline.ingestion import ingest_batch

        options = ReadOptions(multi_label=multi_label, label_separator=label_separator)
        with tempfile.TemporaryDirectory(prefix="textloop-ingest-") as scratch:
            path, source = _as_file(data, Path(scratch) / "data.parquet")
            table = read_labelled_file(path, text_column, label_column, options=options)
            if test is not None:
                test_path, test_source = _as_file(test, Path(scratch) / "test.parquet")
                test_table = read_labelled_file(
                    test_path, text_column, label_column, options=options
                )
                table = with_fixed_test_split(table, test_table, self.settings.split_fractions)
                source = f"{source} + test:{test_source}"
        mode = Mode.MULTI_LABEL if multi_label else Mode.SINGLE_LABEL
        return ingest_batch(
            self.store, self.settings, classifier, table, source, mode=mode, new_labels=new_labels
        )

    def train(
        self,
        classifier: str,
        model: str = "auto",
        dataset_version: int | None = None,
        deploy: bool = False,
        use_cache: bool = True,
        **settings: Any,
    ) -> TrainReport:
        """Run the training pipeline, as ``textloop train``; ``settings`` are those its flags
        set (``tune_trials``, ``finetune_seconds``, ``cascade_max_drop``, ...), and
        ``use_cache=False`` runs every step again (``--no-cache``)."""
        from textloop.pipeline.progress import RichProgress
        from textloop.pipeline.training import train_classifier

        config = self.settings.with_flags(**settings) if settings else self.settings
        with RichProgress(enabled=self.progress) as progress:
            return train_classifier(
                self.store,
                config,
                classifier,
                model,
                dataset_version,
                progress=progress,
                use_cache=use_cache,
                deploy=deploy,
            )

    def models(self, classifier: str) -> pd.DataFrame:
        """Every model version of ``classifier``, newest first: family, dataset version, test
        metrics, whether it was blessed, and the aliases that point at it."""
        import pandas as pd
        from sqlalchemy import select

        from textloop.store.queries import get_classifier
        from textloop.store.tables import DatasetVersion, ModelAlias, ModelVersion

        with self.store.session() as session:
            found = get_classifier(session, classifier)
            aliases: dict[int, list[str]] = {}
            for alias, version_id in session.execute(
                select(ModelAlias.alias, ModelAlias.model_version_id).where(
                    ModelAlias.classifier_id == found.id
                )
            ):
                aliases.setdefault(version_id, []).append(alias)
            rows = []
            for record, dataset in session.execute(
                select(ModelVersion, DatasetVersion.version)
                .join(DatasetVersion, DatasetVersion.id == ModelVersion.dataset_version_id)
                .where(ModelVersion.classifier_id == found.id)
                .order_by(ModelVersion.version.desc())
            ):
                test = record.metrics.get("test", record.metrics)
                rows.append(
                    {
                        "version": record.version,
                        "family": record.family,
                        "dataset_version": dataset,
                        **{name: test.get(name) for name in METRIC_COLUMNS},
                        "blessed": bool((record.blessing or {}).get("blessed")),
                        "aliases": ",".join(sorted(aliases.get(record.id, []))),
                        "created_at": record.created_at,
                    }
                )
        columns = ["version", "family", "dataset_version", *METRIC_COLUMNS, "blessed"]
        return pd.DataFrame(rows, columns=[*columns, "aliases", "created_at"])

    def compare(self, classifier: str, versions: Sequence[int] | None = None) -> pd.DataFrame:
        """Test metrics of ``versions`` (default: all) side by side, one row per version, with
        each metric's change from the version above it."""
        table = self.models(classifier)
        if versions is not None:
            missing = sorted(set(versions) - set(table["version"]))
            if missing:
                raise InvalidRequest(
                    f"{classifier!r} has no model version {', '.join(map(str, missing))}",
                    field="versions",
                )
            table = table[table["version"].isin(list(versions))]
        table = table.sort_values("version").reset_index(drop=True)
        for name in METRIC_COLUMNS:
            table[f"{name}_change"] = table[name].astype(float).diff()
        return table

    def deploy(self, classifier: str, version: int | None = None, force: bool = False) -> AliasMove:
        """Point production at ``version`` (default: the newest), through the same gates as
        ``textloop deploy``."""
        from textloop.release.deploy import deploy_model

        return deploy_model(self.store, self.settings, classifier, version, force=force)

    def classify(self, classifier: str, texts: str | Sequence[str]) -> pd.DataFrame:
        """Classify with the production model; every prediction is stored, as over the API,
        so that an unsure one goes to review. One row per text: text, label (for a multi-label
        classifier ``labels``, a list, possibly empty), confidence, whether it went to review,
        the prediction's id (for ``lineage``); where the classifier answers out of scope, an
        ``out_of_scope`` column, and ``label`` is None on its rows."""
        import pandas as pd

        from textloop.predict.classify import classify

        batch = [texts] if isinstance(texts, str) else list(texts)
        results = classify(self.store, self._models, classifier, batch)
        answers: dict[str, list[Any]] = (
            {"labels": [list(r.labels or ()) for r in results]}
            if results and results[0].labels is not None
            else {  # object, not str: pandas would read None as NaN
                "label": pd.Series(
                    [None if r.out_of_scope else r.label for r in results], dtype=object
                )
            }
        )
        if results and results[0].out_of_scope is not None:
            answers["out_of_scope"] = [bool(r.out_of_scope) for r in results]
        return pd.DataFrame(
            {
                "text": batch,
                **answers,
                "confidence": [r.confidence for r in results],
                "review": [r.review for r in results],
                "prediction_id": [r.prediction_id for r in results],
            }
        )

    def batch_classify(
        self,
        classifier: str,
        data: pd.DataFrame | str | Path,
        output: str | Path | None = None,
        text_column: str = "text",
    ) -> pd.DataFrame | BatchSummary:
        """Classify every row, as ``textloop batch-classify`` does: a DataFrame in gives one
        back (every column kept, the predictions added); a file in writes ``output`` and gives
        the run's summary."""
        from textloop.batch.run import BatchRequest, classify_file, prepare

        with tempfile.TemporaryDirectory(prefix="textloop-batch-") as scratch:
            frame_in = not isinstance(data, str | Path)
            if frame_in and output is None:
                target = Path(scratch) / "output.parquet"
            elif output is None:
                raise InvalidRequest("give output: the file to write", field="output")
            else:
                target = Path(output).expanduser().absolute()
            source, _ = _as_file(data, Path(scratch) / "input.parquet")
            request = BatchRequest(
                classifier=classifier,
                input=Path(source).expanduser().absolute(),
                output=target,
                text_column=text_column,
                engine=self.settings.engine,
            )
            summary = classify_file(self.store, self.settings, prepare(self.store, request))
            if not frame_in or output is not None:
                return summary
            import pandas as pd

            return pd.read_parquet(target)

    def lineage(
        self,
        prediction: str | None = None,
        batch_job: str | None = None,
        dataset: int | None = None,
        classifier: str | None = None,
    ) -> dict[str, Any]:
        """Upstream of a prediction or batch job, or downstream of ``dataset`` of
        ``classifier``: the same graph ``textloop lineage --json`` prints."""
        from textloop.metadata.lineage import batch_lineage, dataset_lineage, prediction_lineage

        given = [prediction is not None, batch_job is not None, dataset is not None]
        if sum(given) != 1 or (dataset is not None and classifier is None):
            raise InvalidRequest(
                "give one of prediction, batch_job, or dataset with classifier", field="lineage"
            )
        with self.store.session() as session:
            if prediction is not None:
                return prediction_lineage(session, prediction)
            if batch_job is not None:
                return batch_lineage(session, batch_job)
            assert dataset is not None and classifier is not None
            return dataset_lineage(session, classifier, dataset)


def _as_file(data: Any, scratch: Path) -> tuple[Path, str]:
    """A path to read ``data`` from, and how to name its source: a file as it is, a DataFrame
    written to ``scratch`` as Parquet (so it is read exactly as a file would be)."""
    if isinstance(data, str | Path):
        return Path(data).expanduser(), str(data)
    to_parquet = getattr(data, "to_parquet", None)
    if to_parquet is None:
        raise InvalidRequest(
            f"data must be a pandas DataFrame or a file path, not {type(data).__name__}",
            field="data",
        )
    to_parquet(scratch, index=False)
    return scratch, f"DataFrame ({len(data):,} rows)"
