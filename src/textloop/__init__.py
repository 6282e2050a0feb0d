"""textloop: self-hosted text classification that keeps learning in production."""

__version__ = "0.1.0"
