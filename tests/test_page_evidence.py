"""The scripts behind docs/screenshots.md and docs/lighthouse.md work as those
pages say: each runs the demo city and draws or scores real pages."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[1]
LIGHTHOUSE = os.environ.get("CIVICPOST_LIGHTHOUSE") or shutil.which("lighthouse")


def test_the_screenshot_script_draws_each_page_asked_for_at_both_widths_in_both_schemes(tmp_path) -> None:
    done = subprocess.run([sys.executable, "scripts/screenshots.py", "--only", "public-home,approvals",
                           "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    drawn = sorted(p.name for p in tmp_path.glob("*.jpg"))
    assert drawn == sorted(f"{name}-{width}{scheme}.jpg" for name in ("public-home", "approvals")
                           for width in (1280, 390) for scheme in ("", "-dark"))
    for name in drawn:
        with Image.open(tmp_path / name) as image:
            assert image.size == ((1280, 800) if "-1280" in name else (390, 844))
            # A blank page compresses to almost nothing; a drawn one has colours and text.
            assert len(image.getcolors(maxcolors=1 << 20) or range(2000)) > 50
    assert (tmp_path / "approvals-1280.jpg").read_bytes() != (tmp_path / "approvals-1280-dark.jpg").read_bytes()


def test_an_unknown_page_name_is_refused_with_its_name(tmp_path) -> None:
    done = subprocess.run([sys.executable, "scripts/screenshots.py", "--only", "dashbord", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "no page named dashbord" in done.stderr


@pytest.mark.skipif(not LIGHTHOUSE and os.environ.get("CI") != "true",
                    reason="Lighthouse (npm) is not installed; .ci/run installs it")
def test_lighthouse_scores_the_five_pages_at_the_aim() -> None:
    assert LIGHTHOUSE, "CI must have Lighthouse: .ci/run installs it with npm"
    done = subprocess.run([sys.executable, "scripts/lighthouse.py", "--lighthouse", LIGHTHOUSE], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    table = [line for line in done.stdout.splitlines() if line.startswith("| ") and "`/" in line]
    assert len(table) == 5
    for line in table:
        scores = [int(cell) for cell in line.strip("| ").split(" | ")[2:]]
        assert scores[0] == 100 and min(scores[1:]) >= 90, line
