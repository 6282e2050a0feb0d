"""``textloop export-mlflow``: a model version into an MLflow tracking server, beside a team's
other models.

The run gets the version's parameters, its test metrics, the evaluation as a JSON artifact and
the lineage ids as tags; the model is the version's portable bundle logged as a pyfunc model
(``mlflow_model.py`` as its code), registered under a model name, so that MLflow's own tools
(``mlflow.pyfunc.load_model``, ``mlflow models serve``) load and serve it without textloop.
A multi-label classifier's model answers ``labels`` (the set joined by ``|``, empty for none)
where a single-label one answers ``label``, and ``confidence`` in either. A version with an
out-of-scope detector answers an ``out_of_scope`` column too, ``label`` None where it is true.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from importlib.metadata import version as installed
from pathlib import Path
from typing import Any

from textloop.bundles.export import ExportedBundle, Located, export_bundle
from textloop.config import Settings
from textloop.data.label_sets import Mode
from textloop.errors import ConfigError

RUNTIME = ("numpy", "onnxruntime", "tokenizers", "pandas")  # what the logged model needs
# the model's code, by path: MLflow runs it (importing it here would register its model now)
MODEL_CODE = Path(__file__).with_name("mlflow_model.py")


@dataclass(frozen=True)
class MlflowExport:
    run_id: str
    model_uri: str
    registered_name: str
    registered_version: int | None


def export_to_mlflow(
    settings: Settings,
    found: Located,
    tracking_uri: str,
    experiment: str = "textloop",
    registered_name: str | None = None,
) -> MlflowExport:
    try:
        import mlflow
        from mlflow.exceptions import MlflowException
        from mlflow.models import ModelSignature
        from mlflow.types import ColSpec, Schema
    except ImportError as exc:
        raise ConfigError(
            "export-mlflow needs the mlflow package: pip install 'textloop[mlflow]'"
        ) from exc
    name = registered_name or f"textloop-{found.classifier}"
    try:
        with tempfile.TemporaryDirectory(prefix="textloop-mlflow-") as scratch:
            bundle = export_bundle(settings, found, Path(scratch) / "bundle")
            signature = ModelSignature(
                inputs=Schema([ColSpec("string", "text")]), outputs=Schema(_outputs(found, bundle))
            )
            mlflow.set_tracking_uri(tracking_uri)
            mlflow.set_experiment(experiment)
            with mlflow.start_run(run_name=f"{found.classifier} v{found.version}") as run:
                mlflow.log_params(_flat(found.params, "param"))
                mlflow.log_metrics(_numbers(found.metrics.get("test", {})))
                mlflow.log_dict(found.metrics, "evaluation/metrics.json")
                mlflow.set_tags(
                    {
                        "textloop.classifier": found.classifier,
                        "textloop.version": found.version,
                        "textloop.family": found.family,
                        **_flat(found.lineage, "textloop.lineage"),
                    }
                )
                info = mlflow.pyfunc.log_model(
                    name="model",
                    python_model=str(MODEL_CODE),
                    artifacts={"bundle": str(bundle.path)},
                    pip_requirements=[f"{package}=={installed(package)}" for package in RUNTIME],
                    signature=signature,
                    registered_model_name=name,
                )
    except MlflowException as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"MLflow at {tracking_uri} refused the export: {first}") from exc
    registered = getattr(info, "registered_model_version", None)
    return MlflowExport(
        run.info.run_id, info.model_uri, name, int(registered) if registered else None
    )


def _outputs(found: Located, bundle: ExportedBundle) -> list[Any]:
    """The model's output columns (``mlflow_model.py``): the answer, whether it is out of scope
    where the bundle has a detector (its ``label`` then None on those rows), the confidence."""
    from mlflow.types import ColSpec

    if found.mode == Mode.MULTI_LABEL:
        return [ColSpec("string", "labels"), ColSpec("double", "confidence")]
    if not bundle.out_of_scope:
        return [ColSpec("string", "label"), ColSpec("double", "confidence")]
    return [
        ColSpec("string", "label", required=False),
        ColSpec("boolean", "out_of_scope"),
        ColSpec("double", "confidence"),
    ]


def _flat(values: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Nested dictionaries as dotted keys, the way MLflow shows parameters and tags."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}.{key}"
        if isinstance(value, dict):
            flat.update(_flat(value, name))
        else:
            flat[name] = "" if value is None else value
    return flat


def _numbers(metrics: dict[str, Any]) -> dict[str, float]:
    """The scalar test metrics (accuracy, macro-F1, ECE, ...); tables stay in the artifact."""
    return {
        key: float(value)
        for key, value in metrics.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
