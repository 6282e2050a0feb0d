"""Portable model bundles: a model version written out to run without textloop, and read back.

``export`` writes a bundle (the model tree of ``bundle.json``, its arrays, the ONNX encoder, the
tokenizer, ``predict.py`` and textloop's own saved model), checked against the model before it is
kept; ``importing`` registers a bundle as a new version of a classifier.
"""
