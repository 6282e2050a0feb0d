"""Continuous training: reviewed labels flow back into data, and retrain jobs ship better models."""
