"""The portal's Models page shows each version's per-class table and its slices."""

from fastapi.testclient import TestClient

from tests.serving.portal import sign_in
from textloop.store import Store
from textloop.store.queries import get_classifier


def test_the_models_page_shows_each_versions_classes_and_slices(
    client: TestClient, people: Store
) -> None:
    with people.session() as session:
        get_classifier(session, "topics").slice_columns = ["channel"]
        session.commit()
    sign_in(client, "admin@example.com")
    page = client.get("/admin/models").text
    assert 'id="evaluation-topics-1"' in page
    classes = page.split('<table class="queues per-class">', 1)[1].split("</table>", 1)[0]
    assert "<th>precision</th><th>recall</th><th>F1</th><th>support</th>" in classes
    assert "<td>weather</td>" in classes
    slices = page.split('<table class="queues per-slice">', 1)[1].split("</table>", 1)[0]
    assert "<td>length</td>" in slices and "<th>macro-F1</th>" in slices
    assert "slices by channel" in page
