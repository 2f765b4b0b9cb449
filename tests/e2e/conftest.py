"""Browser tests: Playwright drives Debian's chromium (`make browser`) against the live server.

One browser for the whole session (pytest-playwright's `browser`), a fresh context and page per
test, short timeouts so that a broken screen fails in seconds, and a screenshot at every step
under test-artifacts/<test>/ (plus failure.png when the test fails).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
from playwright.sync_api import Page, expect

from customers.auth import customer_token

# Playwright's sync API runs an event loop in the test's thread: Django's ORM refuses to run
# there unless told it is safe (it is: the loop only waits on the browser). Set before the
# browser starts, that is at import.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("OMNI_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIMEOUT_MS = 10_000
PASSWORD = "pass-Word-1"  # make_staff's (tests/conftest.py)

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's chromium: `playwright install` cannot download a browser here."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (or `make test`)")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def base_url(live_server) -> str:
    """Relative URLs in page.goto() go to the live server."""
    return live_server.url


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {
        **browser_context_args,
        "locale": "en-GB",  # the screens in English, whatever the machine's language
        "viewport": {"width": 1280, "height": 900},
    }


@pytest.fixture
def page(page: Page) -> Page:
    page.set_default_timeout(TIMEOUT_MS)
    page.set_default_navigation_timeout(TIMEOUT_MS)
    return page


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


_CALL_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def screenshot(page: Page, request: pytest.FixtureRequest) -> Iterator[Callable[[str], Path]]:
    """`screenshot("step")` saves test-artifacts/<test>/NN-step.png of the whole page."""
    folder = ARTIFACTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    numbers = itertools.count(1)

    def take(step: str) -> Path:
        path = folder / f"{next(numbers):02d}-{step}.png"
        page.screenshot(path=path, full_page=True)
        return path

    yield take
    if request.node.stash.get(_CALL_FAILED, False):
        page.screenshot(path=folder / "failure.png", full_page=True)


@pytest.fixture
def log_in(page: Page) -> Callable[..., None]:
    """Sign in through the login page, as a person would."""

    def sign_in(user) -> None:
        page.goto("/login/")
        page.get_by_label("Username").fill(user.get_username())
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")

    return sign_in


@pytest.fixture
def app_api(live_server) -> Callable[..., tuple[int, Any]]:
    """Call the API as the customer's phone app does: over HTTP, with her customer token."""

    def call(customer, method: str, path: str, body: dict | None = None) -> tuple[int, Any]:
        request = Request(
            f"{live_server.url}{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={
                "Authorization": f"Customer {customer_token(customer=customer)}",
                "X-Omni-Channel": "app",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        try:
            with urlopen(request, timeout=TIMEOUT_MS / 1000) as response:
                return response.status, json.loads(response.read())
        except HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    return call
