"""A QuickRoute answers a simple GET exactly as FastAPI would, without its
per-request parameter machinery; anything else is left to FastAPI."""

from enum import StrEnum
from typing import Annotated, Any

import fastapi.routing
import pytest
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel

from civicpost.web.quick_route import QuickRoute


class Colour(StrEnum):
    red = "red"
    blue = "blue"


class Answer(BaseModel):
    colour: Colour | None
    slug: str | None
    flag: bool | None
    limit: int
    words: str | None
    tags: list[str]
    echoed: dict[str, Any]


async def answer(
    request: Request,
    colour: Colour | None = None,
    slug: Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")] = None,
    flag: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    words: Annotated[str | None, Query(max_length=10)] = None,
) -> dict[str, Any]:
    return {"colour": colour, "slug": slug, "flag": flag, "limit": limit, "words": words, "tags": [],
            "echoed": dict(request.query_params)}


async def with_a_list(tags: Annotated[list[str], Query()] = []) -> dict[str, Any]:  # noqa: B006 - FastAPI's way
    return {"colour": None, "slug": None, "flag": None, "limit": 1, "words": None, "tags": tags, "echoed": {}}


def _app(route_class: type) -> FastAPI:
    router = APIRouter(prefix="/v1", route_class=route_class)
    router.add_api_route("/things", answer, methods=["GET"], response_model=Answer)
    router.add_api_route("/tagged", with_a_list, methods=["GET"], response_model=Answer)
    router.add_api_route("/things", answer, methods=["POST"], response_model=Answer, status_code=201)
    app = FastAPI()
    app.include_router(router)
    return app


QUERIES = [
    "", "limit=10", "limit=0", "limit=201", "limit=", "limit=ten", "limit=1&limit=300", "colour=red",
    "colour=green", "slug=parks", "slug=Parks!", "slug=", "flag=true", "flag=yes", "flag=0", "flag=maybe",
    "words=0123456789", "words=0123456789x", "unknown=1", "colour=blue&slug=x&flag=1&limit=3&words=hi",
    "limit=%00", "slug=%E2%80%AE", "colour=red&colour=", "limit=-5&colour=green&slug=A",
]


@pytest.fixture
def solved(monkeypatch) -> list[str]:
    """Paths FastAPI's own parameter machinery read."""
    seen: list[str] = []
    original = fastapi.routing.solve_dependencies

    async def counting(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["request"].url.path)
        return await original(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counting)
    return seen


@pytest.mark.parametrize("query", QUERIES)
def test_a_simple_get_answers_as_fastapi_does_without_its_parameter_machinery(query, solved):
    with TestClient(_app(QuickRoute)) as quick, TestClient(_app(fastapi.routing.APIRoute)) as plain:
        ours, theirs = quick.get(f"/v1/things?{query}"), plain.get(f"/v1/things?{query}")
    assert (ours.status_code, ours.content) == (theirs.status_code, theirs.content)
    assert ours.headers["content-type"] == theirs.headers["content-type"]
    assert solved == ["/v1/things"]  # only FastAPI's own route solved its parameters


def test_other_routes_are_fastapis(solved):
    with TestClient(_app(QuickRoute)) as quick:
        tagged = quick.get("/v1/tagged?tags=a&tags=b")
        posted = quick.post("/v1/things?limit=2")
    assert tagged.status_code == 200 and tagged.json()["tags"] == ["a", "b"]
    assert posted.status_code == 201 and posted.json()["limit"] == 2
    assert solved == ["/v1/tagged", "/v1/things"]
