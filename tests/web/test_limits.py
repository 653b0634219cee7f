"""The concurrency limit: the API's places are its own, so a page never waits behind API requests."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

from civicpost.web.limits import ConcurrencyLimit


def _request(path: str) -> dict:
    return {"type": "http", "path": path, "headers": []}


def test_a_page_is_answered_while_every_api_place_is_taken_and_a_further_api_request_waits_then_gets_503():
    async def scenario() -> tuple[list[str], list[int]]:
        release = asyncio.Event()
        served: list[str] = []
        statuses: list[int] = []

        async def app(scope, receive, send):
            if scope["path"].startswith("/api/"):
                await release.wait()
            served.append(scope["path"])

        async def send(message):
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        limited = ConcurrencyLimit(app, limit=1, queue_timeout=0.2, by_prefix={"/api/": 2})
        busy = [asyncio.create_task(limited(_request(f"/api/v1/{n}"), None, send)) for n in range(2)]
        await asyncio.sleep(0.01)
        await asyncio.wait_for(limited(_request("/staff/"), None, send), 1)  # not behind the API
        await limited(_request("/api/v1/third"), None, send)  # no API place frees in time
        release.set()
        await asyncio.gather(*busy)
        return served, statuses

    # A thread of its own: the browser tests leave an event loop running in this one.
    with ThreadPoolExecutor(1) as thread:
        served, statuses = thread.submit(asyncio.run, scenario()).result()
    assert served[0] == "/staff/" and sorted(served[1:]) == ["/api/v1/0", "/api/v1/1"]
    assert statuses == [503]
