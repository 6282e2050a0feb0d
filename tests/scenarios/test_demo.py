"""The demo's API key: one per data directory, minted again only when it no longer works."""

from pathlib import Path

from textloop.cli.demo import KEY_FILE, _demo_key
from textloop.config import Settings
from textloop.security.api_keys import revoke_api_key
from textloop.store import open_store
from textloop.store.tables import ApiKey


def test_every_demo_run_reuses_its_key_until_it_is_revoked(tmp_path: Path) -> None:
    settings = Settings.load(
        data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'textloop.db'}"
    )
    store = open_store(settings)
    path = settings.data_dir / KEY_FILE
    with store.session() as session:
        first, minted = _demo_key(session, path)
        assert minted and path.read_text().strip() == first
        assert path.stat().st_mode & 0o077 == 0  # the owner's alone
    with store.session() as session:
        assert _demo_key(session, path) == (first, False)
        assert session.query(ApiKey).count() == 1
        revoke_api_key(session, session.query(ApiKey).one().id)
    with store.session() as session:
        second, minted = _demo_key(session, path)
        assert minted and second != first and path.read_text().strip() == second
    store.dispose()
