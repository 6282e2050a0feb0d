"""The acceptance test of usage plans: two ``textloop serve`` processes on one PostgreSQL
database spend one key's monthly quota together, and between them admit exactly the quota."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.processes import environment, running_server
from tests.security.conftest import CLASSIFY
from tests.serving.conftest import deploy_corpus
from textloop.config import Settings
from textloop.security.api_keys import create_api_key
from textloop.store import Store
from textloop.store.tables import KeyUsage

QUOTA = 2000
SENT = 2100


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_servers_admit_exactly_the_monthly_quota_between_them(
    tmp_path: Path, settings: Settings, store: Store, corpus_csv: Path
) -> None:
    deploy_corpus(store, settings, corpus_csv, "topics")
    with store.session() as session:
        issued = create_api_key(session, ["classify"], monthly_quota=QUOTA)
    env = environment(settings.data_dir, settings.database_url)
    with (
        running_server(env, tmp_path / "first.log") as first,
        running_server(env, tmp_path / "second.log") as second,
        httpx.Client(headers={"x-api-key": issued.key}, timeout=60) as http,
    ):
        bases = (first, second)

        def send(number: int) -> int:
            text = f"rain and wind, forecast {number}"
            return http.post(bases[number % 2] + CLASSIFY, json={"text": text}).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = Counter(pool.map(send, range(SENT)))
    assert statuses == {200: QUOTA, 429: SENT - QUOTA}
    with store.session() as session:
        (usage,) = session.scalars(select(KeyUsage)).all()
    assert (usage.api_key_id, usage.requests, usage.refused) == (issued.id, QUOTA, SENT - QUOTA)
