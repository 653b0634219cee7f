"""Screenshots of every staff and public page at 1280 and 390 px, in light and
dark, into docs/screenshots/ (JPEG, the first screen of each page).

    .venv/bin/python scripts/screenshots.py                 # every page
    .venv/bin/python scripts/screenshots.py --only dashboard,approvals --out /tmp/shots

Runs the demo city on free ports (scripts/demo_pages.py) and Debian's
Chromium through Playwright. Needs the test extras (`pip install -e '.[test]'`).
"""

import argparse
from pathlib import Path

from demo_pages import chromium_path, running_demo, sign_in
from playwright.sync_api import sync_playwright

WIDTHS = {1280: 800, 390: 844}
SCHEMES = ("light", "dark")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--only", default="", help="comma-separated page names (default: every page)")
    parser.add_argument("--schemes", default="light,dark", help="light, dark or both (default)")
    args = parser.parse_args()
    only = {name for name in args.only.split(",") if name}
    schemes = [s for s in args.schemes.split(",") if s in SCHEMES]
    args.out.mkdir(parents=True, exist_ok=True)
    with running_demo() as demo, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(),
                                             args=["--headless", "--no-sandbox", "--disable-gpu"])
        pages = [p for p in demo.pages() if not only or p[0] in only]
        unknown = only - {p[0] for p in demo.pages()}
        if unknown:
            raise SystemExit(f"no page named {', '.join(sorted(unknown))}")
        for who in sorted({who for _, _, who in pages}):
            for width, height in WIDTHS.items():
                for scheme in schemes:
                    context = browser.new_context(viewport={"width": width, "height": height},
                                                  color_scheme=scheme, java_script_enabled=True)
                    page = context.new_page()
                    if who:
                        sign_in(page, demo.base_url, who)
                    for name, path, signed_in_as in pages:
                        if signed_in_as != who:
                            continue
                        answer = page.goto(demo.base_url + path)
                        if answer is None or answer.status >= 400:
                            raise SystemExit(f"{name}: {path} answered {answer.status if answer else 'nothing'}")
                        page.wait_for_load_state("networkidle")
                        suffix = "" if scheme == "light" else "-dark"
                        target = args.out / f"{name}-{width}{suffix}.jpg"
                        page.screenshot(path=str(target), type="jpeg", quality=70)
                        print(f"{target}  {path}")
                    context.close()
        browser.close()


if __name__ == "__main__":
    main()
