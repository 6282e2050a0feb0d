"""The serving fixtures (an app over a deployed ``topics`` classifier, keys, portal people)."""

from tests.serving.conftest import client, deployed, keys, people  # noqa: F401
