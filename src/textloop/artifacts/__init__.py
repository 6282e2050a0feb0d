"""Where artifacts live: a local folder or any fsspec URL, read through a local cache.

Models, candidates and encoder exports are folders of files. ``ArtifactStore`` publishes a folder
so that readers see it only once it is whole (its parts first, then a manifest naming its content
hash), and hands readers a local folder to load from: the folder itself under a local root, a
verified copy in this host's bounded cache (``ContentCache``) under a remote one.
"""

from textloop.artifacts.manifest import MANIFEST, content_hash
from textloop.artifacts.store import (
    ArtifactMissing,
    ArtifactRoot,
    ArtifactStore,
    ArtifactStoreUnreachable,
    artifact_store,
    artifacts_for,
)

__all__ = [
    "MANIFEST",
    "ArtifactMissing",
    "ArtifactRoot",
    "ArtifactStore",
    "ArtifactStoreUnreachable",
    "artifact_store",
    "artifacts_for",
    "content_hash",
]
