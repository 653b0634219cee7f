"""Lighthouse scores (accessibility, best practices, performance) of the
dashboard, the draft form, the approval queue, the public home page and a
public announcement page, on the demo city, in Debian's Chromium.

    npm install --prefix ~/.cache/civicpost-tools lighthouse@12
    .venv/bin/python scripts/lighthouse.py --lighthouse ~/.cache/civicpost-tools/node_modules/.bin/lighthouse

Prints a Markdown table (the figures in docs/lighthouse.md come from it) and
exits with 1 when a page scores under the aim: accessibility 100, best
practices and performance 90. Desktop settings by default; `--phone` runs
Lighthouse's mobile emulation (a slow 4G network and a slower CPU) instead.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from demo_pages import chromium_path, running_demo, sign_in
from playwright.sync_api import sync_playwright

PAGES = ("dashboard", "draft-form", "approvals", "public-home", "public-announcement")
CATEGORIES = ("accessibility", "best-practices", "performance")
AIM = {"accessibility": 100, "best-practices": 90, "performance": 90}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lighthouse", default="lighthouse", help="the lighthouse command (npm package)")
    parser.add_argument("--phone", action="store_true", help="mobile emulation instead of desktop")
    args = parser.parse_args()
    chromium = chromium_path()
    rows = []
    with running_demo() as demo:
        cookies = _session_cookies(demo, chromium)
        for name, path, who in (p for p in demo.pages() if p[0] in PAGES):
            scores = _run(args.lighthouse, demo.base_url + path, cookies.get(who, ""), chromium, phone=args.phone)
            rows.append((name, path, scores))
            print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in scores.items()), file=sys.stderr)
    print(f"| page | path | {' | '.join(CATEGORIES)} |")
    print("|---|---|" + "---|" * len(CATEGORIES))
    for name, path, scores in rows:
        print(f"| {name} | `{path}` | " + " | ".join(str(scores[c]) for c in CATEGORIES) + " |")
    short = [(name, c) for name, _, scores in rows for c in CATEGORIES if scores[c] < AIM[c]]
    for name, category in short:
        print(f"under the aim: {name} {category}", file=sys.stderr)
    return 1 if short else 0


def _session_cookies(demo, chromium: str) -> dict[str, str]:
    """A Cookie header per person who signs in, from a real sign-in in the browser."""
    headers = {"": ""}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox"])
        for who in sorted({who for name, _, who in demo.pages() if name in PAGES and who}):
            context = browser.new_context()
            sign_in(context.new_page(), demo.base_url, who)
            headers[who] = "; ".join(f"{c['name']}={c['value']}" for c in context.cookies())
            context.close()
        browser.close()
    return headers


def _run(lighthouse: str, url: str, cookie: str, chromium: str, *, phone: bool) -> dict[str, int]:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        command = [
            lighthouse, url, "--quiet", "--output=json", f"--output-path={report}",
            f"--only-categories={','.join(CATEGORIES)}",
            "--chrome-flags=--headless --no-sandbox --disable-gpu",
        ]
        if not phone:
            command.append("--preset=desktop")
        if cookie:
            command.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
        subprocess.run(command, check=True, env={**os.environ, "CHROME_PATH": chromium})
        answer = json.loads(report.read_text())
    # A page that sent Lighthouse to the sign-in form would score the form instead.
    if answer.get("finalDisplayedUrl", url) != url:
        raise SystemExit(f"{url} ended at {answer['finalDisplayedUrl']}: not signed in?")
    found = answer["categories"]
    return {c: round(found[c]["score"] * 100) for c in CATEGORIES}


if __name__ == "__main__":
    sys.exit(main())
