"""A request's session is one transaction, the same way for pages and the API:
what the handler wrote is committed when it returns, and nothing of it is left when it fails."""

import pytest
from sqlalchemy import select

from civicpost import accounts
from civicpost.errors import Invalid
from civicpost.models import Department
from civicpost.web.deps import SessionDep, one_trip


def _write(session, fail: bool) -> dict[str, bool]:
    accounts.create_department(session, actor=None, slug="parks", name="Parks and Recreation")
    session.flush()
    if fail:
        raise Invalid("refused after writing")
    return {"written": True}


@pytest.fixture
def paths(app) -> dict[str, str]:
    def page_handler(session: SessionDep, fail: bool = False) -> dict[str, bool]:
        return _write(session, fail)

    @one_trip
    def api_handler(session: SessionDep, fail: bool = False) -> dict[str, bool]:
        return _write(session, fail)

    app.router.add_api_route("/test/page-write", page_handler, methods=["POST"])
    app.router.add_api_route("/test/api-write", api_handler, methods=["POST"])
    return {"page": "/test/page-write", "api": "/test/api-write"}


def _departments(sessions) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(Department.slug)))


@pytest.mark.parametrize("kind", ["page", "api"])
def test_what_a_handler_writes_is_committed_when_it_returns(client, sessions, paths, kind):
    r = client.post(paths[kind])
    assert r.status_code == 200 and r.json() == {"written": True}
    assert _departments(sessions) == ["parks"]


@pytest.mark.parametrize("kind", ["page", "api"])
def test_nothing_a_failing_handler_wrote_is_left(client, sessions, paths, kind):
    r = client.post(paths[kind], params={"fail": "true"})
    assert r.status_code == 422
    assert _departments(sessions) == []
    # The same session machinery serves the next request as usual.
    assert client.post(paths[kind]).status_code == 200
    assert _departments(sessions) == ["parks"]
