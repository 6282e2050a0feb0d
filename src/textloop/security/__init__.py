"""Authentication: API keys (hashed at rest, scoped to actions and classifiers)."""
