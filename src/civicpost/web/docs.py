"""The API's documentation at /docs, with everything it loads served from here.

FastAPI's own /docs and /redoc load Swagger UI and ReDoc from a CDN: on a
city network without internet access they are blank pages, and a CDN script
on a page that holds an admin's token in the browser is a trust we do not
need. The `fastapi-offline` package ships Swagger UI's files; this module
serves them and a page of its own whose start-up script is a file too, so
the page keeps the strict Content-Security-Policy (no inline script) that
every other page has. ReDoc is turned off: it injects inline styles at run
time, which that policy forbids, and Swagger UI documents the same API.
"""

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} API</title>
<link rel="icon" type="image/png" href="/docs/assets/favicon.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<main id="swagger-ui" data-openapi-url="{openapi_url}"></main>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Serve /docs and its assets; build the app with docs_url=None, redoc_url=None."""
    page = PAGE.format(title=app.title, openapi_url=app.openapi_url)
    app.mount("/docs/assets", StaticFiles(directory=ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        return HTMLResponse(page)


def problems_as_problem_json(app: FastAPI) -> None:
    """Document every error answer under the media type it is sent with.

    FastAPI files a response model under application/json; civicpost's errors
    are RFC 9457 problem JSON (application/problem+json), and a client or a
    schema checker must be told so.
    """
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for status, answer in operation.get("responses", {}).items():
                    content = answer.get("content", {})
                    if status.startswith(("4", "5")) and "application/json" in content:
                        content["application/problem+json"] = content.pop("application/json")
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
