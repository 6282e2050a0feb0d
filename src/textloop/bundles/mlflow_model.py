"""An MLflow pyfunc model over a textloop bundle: the file MLflow logs as the model's code.

MLflow loads this file where the model is served (``mlflow.pyfunc.load_model``, ``mlflow
models serve``), with the bundle among the model's artifacts; it needs MLflow, pandas and what
the bundle's ``predict.py`` needs (numpy, onnxruntime, tokenizers), never textloop. Input: a
DataFrame with a ``text`` column (or a list of texts); output: a DataFrame with ``label`` and
``confidence`` per text (``labels``, the set joined by ``|``, for a multi-label model). Where the
bundle carries an out-of-scope detector, an ``out_of_scope`` column sits between them, and
``label`` is None on its true rows, as textloop answers them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class TextloopBundle(PythonModel):
    def load_context(self, context: Any) -> None:
        directory = Path(context.artifacts["bundle"])
        spec = importlib.util.spec_from_file_location(
            "textloop_bundle_predict", directory / "predict.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self.bundle = module.load(directory)

    # no type hints: MLflow would read them as the input schema; the signature gives it
    def predict(self, context, model_input, params=None):
        if isinstance(model_input, pd.DataFrame):
            texts = model_input["text" if "text" in model_input else model_input.columns[0]]
        else:
            texts = model_input
        answers = self.bundle.classify([str(text) for text in texts])
        if answers and "labels" in answers[0]:  # a multi-label model: the set, joined by "|"
            column = {"labels": ["|".join(answer["labels"]) for answer in answers]}
        else:
            column = {"label": [answer["label"] for answer in answers]}
            if self.bundle.detector is not None:  # None stays None (pandas 3 would make it NaN)
                column["label"] = pd.Series(column["label"], dtype=object)
                column["out_of_scope"] = [answer["out_of_scope"] for answer in answers]
        return pd.DataFrame({**column, "confidence": [answer["confidence"] for answer in answers]})


mlflow.models.set_model(TextloopBundle())
