"""Model versions, their artifacts under the artifact root, and the aliases that point at them."""
