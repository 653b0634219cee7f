import pytest
from tests.browser.conftest import shoot

pytestmark = pytest.mark.browser

def test_print(live, open_page):
    page = open_page()
    page.goto("/directory")
    page.emulate_media(media="print")
    shoot(page, "scratch-directory-print")
