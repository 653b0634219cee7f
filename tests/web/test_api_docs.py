"""/docs works offline: Swagger UI's files come from this service, and the page
keeps the strict Content-Security-Policy (issue 12, item 2). The browser test
in tests/browser/test_api_docs.py proves it renders with nothing from elsewhere."""

import re


def test_the_docs_page_loads_only_files_this_service_serves(client):
    page = client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") and not s.startswith("//") for s in sources), sources
    for source in sources:
        assert client.get(source).status_code == 200, source
    assert client.get("/docs/assets/swagger-ui-bundle.js").headers["content-type"].startswith(
        ("text/javascript", "application/javascript"))


def test_the_docs_page_has_no_inline_script(client):
    page = client.get("/docs").text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts and all('src="' in attributes and not body.strip() for attributes, body in scripts)
    assert "unsafe-inline" not in client.get("/docs").headers["content-security-policy"]


def test_redoc_which_needs_inline_styles_is_off_and_the_schema_is_still_served(client):
    assert client.get("/redoc").status_code == 404
    schema = client.get("/openapi.json").json()
    assert "/api/v1/announcements" in schema["paths"]
