"""The steps of textloop's pipelines, each a ``pipeline.component.Component``."""
