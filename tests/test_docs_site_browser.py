"""The built documentation site works offline, opened from the file system, in a real browser.

The site takes about a minute and a half to build (the notebooks are executed), so these tests
read one that is built already: the folder THERMO_ODE_SITE names. `.ci/run` builds the site
and runs them against it:

    NO_MKDOCS_2_WARNING=1 mkdocs build --strict --site-dir /tmp/site
    THERMO_ODE_SITE=/tmp/site python -m pytest -q tests/test_docs_site_browser.py

Every page is opened from file:// with the network off (tests/browser.py).
"""

import os
import pathlib
import re

import pytest
from browser import chromium, missing, open_page

SITE = os.environ.get("THERMO_ODE_SITE")
# The home page (the README), the physics (all the math), figures, a generated table, a notebook.
PAGES = ["index.html", "physics.html", "experiments.html", "reference/config.html", "notebooks/quickstart.html"]

# Every image loaded, lazy ones included: the URLs of those that did not.
BROKEN_IMAGES = """async () => {
    for (const img of document.images) img.loading = "eager";
    await Promise.all([...document.images].map(img => img.decode().catch(() => null)));
    return [...document.images].filter(img => img.naturalWidth === 0).map(img => img.src);
}"""
# The page's text outside code: where raw TeX would show if MathJax had not typeset it.
PROSE = """() => {
    const body = document.body.cloneNode(true);
    body.querySelectorAll("pre, code, script, style").forEach(e => e.remove());
    return body.textContent;
}"""
TYPESET = "() => [...document.querySelectorAll('.arithmatex')].every(e => e.querySelector('mjx-container'))"


@pytest.fixture(scope="module")
def site() -> pathlib.Path:
    if not SITE:
        pytest.skip("no built site: set THERMO_ODE_SITE to the folder of `mkdocs build --site-dir` (.ci/run does)")
    folder = pathlib.Path(SITE)
    if not (folder / "index.html").is_file():
        pytest.fail(f"THERMO_ODE_SITE={SITE}: no index.html there; build the site first")
    return folder


@pytest.fixture(scope="module")
def browser(site):
    if missing():  # a site to test was named: not having a browser is a failure, not a skip
        pytest.fail(f"THERMO_ODE_SITE is set but there is {missing()}")
    with chromium() as browser:
        yield browser


def _clean(seen) -> None:
    assert not seen.errors, "\n".join(seen.errors)
    assert not seen.left, "requests that tried to leave the page:\n" + "\n".join(seen.left)
    assert not seen.failed, "local files that did not load:\n" + "\n".join(seen.failed)


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_offline_with_its_images_and_no_error(site, browser, name):
    with open_page(site / name, browser) as seen:
        assert seen.page.evaluate(BROKEN_IMAGES) == []
        seen.page.wait_for_function(TYPESET)
        assert not re.search(r"\\[(\[]", seen.page.evaluate(PROSE)), "raw TeX left in the page"
        assert seen.page.locator("input.md-search__input").count() == 1, "no search box"
        _clean(seen)


def test_the_physics_is_typeset(site, browser):
    with open_page(site / "physics.html", browser) as seen:
        seen.page.wait_for_function(TYPESET)
        formulas = seen.page.locator(".arithmatex mjx-container svg").count()
        assert formulas > 100, formulas  # the page is mostly math
        assert seen.page.locator("mjx-merror").count() == 0, "a formula MathJax could not read"
        assert not re.search(r"\\[(\[]", seen.page.evaluate(PROSE)), "raw TeX left in the page"
        _clean(seen)


def test_navigation_lands_on_pages_and_search_works(site, browser):
    with open_page(site / "index.html", browser) as seen:
        page = seen.page
        page.locator("nav.md-nav--primary a.md-nav__link", has_text="The physics").first.click()
        page.wait_for_load_state("load")
        assert page.url == (site / "physics.html").resolve().as_uri()
        assert "Index of" not in page.title(), "a directory listing, not a page"
        assert page.locator("article h1").first.inner_text().startswith("The physics")
        page.fill("input.md-search__input", "Fisher")  # search runs from file:// too (offline plugin)
        page.wait_for_selector(".md-search-result__item")
        assert page.locator(".md-search-result__item").count() > 0
        _clean(seen)
