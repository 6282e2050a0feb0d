"""Prediction: how a classifier's deployed model is found, loaded, called and its answers recorded.

Serving, feedback, pool sampling, drift, shadow scoring, evaluation and batch jobs all predict the
same way through this layer: an alias resolves to a ``Deployment`` (``deployment``), the model
comes from one ``ModelCache``, probabilities come from a ``Predictor`` (``DirectPredictor`` for the
CLI, the worker and batch jobs; the server's ``Batcher`` for concurrent requests), ``outcome``
turns them into label, confidence and review flag, and ``records`` says what a stored prediction
holds. Nothing here opens a transaction around a model call.
"""
