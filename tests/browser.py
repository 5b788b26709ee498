"""A local HTML page opened in a real headless browser with the network off, and what a test asserts on.

    from browser import open_page, skip_without_browser

    def test_report_page(tmp_path):
        skip_without_browser()
        with open_page(tmp_path / "report.html") as seen:
            assert not seen.errors  # console errors and uncaught exceptions
            assert not seen.left  # requests that tried to leave the page (all were blocked)
            assert not seen.failed  # local files that did not load
            assert seen.page.evaluate("() => [...document.images].every(i => i.naturalWidth > 0)")

The browser is the system's chromium (Debian: `apt-get install chromium`), driven by Playwright
(the `dev` extra); Playwright's own browser downloads are never used. Each page gets a fresh
profile. Every request whose scheme is not `file:`, `data:` or `blob:` is aborted and recorded,
so a page that works here works offline. `skip_without_browser()` skips a test, naming what is
missing, where Playwright or chromium is not installed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import pathlib
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless, as root (no sandbox), and without the background requests a fresh profile makes.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL = ("file:", "data:", "blob:")


def missing() -> str | None:
    """Why no browser test can run here, or None when one can."""
    if importlib.util.find_spec("playwright") is None:
        return "no browser: playwright is not installed (pip install -e '.[dev]')"
    if not pathlib.Path(CHROMIUM).is_file():
        return f"no browser: {CHROMIUM} not found (apt-get install chromium)"
    return None


def skip_without_browser() -> None:
    """Skip the calling test, naming what is missing, when no browser can be started."""
    reason = missing()
    if reason:
        pytest.skip(reason)


@dataclasses.dataclass
class Seen:
    """What a page did: its live Playwright `page` and, since it was opened, the messages below
    (each names the page's URL). They keep filling as the page is navigated or clicked on."""

    page: Any  # playwright.sync_api.Page
    errors: list[str] = dataclasses.field(default_factory=list)  # console errors, uncaught exceptions
    left: list[str] = dataclasses.field(default_factory=list)  # URLs of requests leaving the page
    failed: list[str] = dataclasses.field(default_factory=list)  # local URLs that did not load


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A started chromium (a `playwright.sync_api.Browser`), to open several pages with."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def open_page(target: str | pathlib.Path, browser: Any = None, timeout_s: float = 30) -> Iterator[Seen]:
    """Open `target` (a local file, or a file:// URL) with the network off, once it has loaded.

    In `browser` (from `chromium()`) when given, else in a chromium started for this page."""
    url = pathlib.Path(target).resolve().as_uri() if not str(target).startswith("file:") else str(target)
    with contextlib.ExitStack() as stack:
        if browser is None:
            browser = stack.enter_context(chromium())
        context = browser.new_context(service_workers="block")
        stack.callback(context.close)
        context.set_default_timeout(timeout_s * 1000)
        page = context.new_page()
        seen = Seen(page)

        def route(route: Any) -> None:
            if route.request.url.startswith(LOCAL):
                route.continue_()
            else:
                seen.left.append(route.request.url)
                route.abort("internetdisconnected")

        context.route("**/*", route)
        page.on("websocket", lambda ws: seen.left.append(ws.url))

        def console(message: Any) -> None:
            if message.type == "error":  # "Failed to load resource" names its URL only in the location
                where = message.location.get("url")
                seen.errors.append(f"{page.url}: {message.text}" + (f" ({where})" if where != page.url else ""))

        page.on("console", console)
        page.on("pageerror", lambda e: seen.errors.append(f"{page.url}: uncaught {e}"))
        page.on(
            "requestfailed",
            lambda r: r.url.startswith(LOCAL) and seen.failed.append(f"{page.url}: {r.url} ({r.failure})"),
        )
        page.goto(url, wait_until="load")
        yield seen
