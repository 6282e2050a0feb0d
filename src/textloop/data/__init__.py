"""Data in: reading labelled files, content-addressed dataset versions, deterministic splits."""
