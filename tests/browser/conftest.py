"""A real headless Chromium (Debian's chromium + chromium-driver, via selenium) and `make run`'s stack."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.deploy.running_stack import RunningStack

ROOT = Path(__file__).resolve().parents[2]
# Screenshots the tests take; gitignored, kept after the run for a human (or CI) to look at.
ARTIFACTS = ROOT / "test-artifacts" / "browser"
# What Chromium needs to run headless as root in a container, with no network chatter of its own.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def _executable(*names: str) -> str | None:
    return next((found for name in names if (found := shutil.which(name))), None)


@pytest.fixture
def browser(tmp_path) -> Iterator[webdriver.Chrome]:
    chromium, driver = _executable("chromium", "chromium-browser"), _executable("chromedriver")
    if not (chromium and driver):
        # CI installs them, so there a missing browser is a failure, never a quiet skip.
        (pytest.fail if os.environ.get("CI") else pytest.skip)(
            "needs Debian's chromium and chromium-driver (.ci/run installs them)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    # A fresh profile per test, and a window tall enough for the whole page in the screenshots.
    for flag in (
        *CHROMIUM_FLAGS,
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=900,1000",
    ):
        options.add_argument(flag)
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    try:
        yield chrome
    finally:
        chrome.quit()


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[RunningStack]:
    """One `make run` (no Stripe keys, so the local stand-in) for the module's tests."""
    running = RunningStack(tmp_path_factory.mktemp("browser-stack"))
    running.start()
    try:
        assert running.wait_ready(), running.stderr_path.read_text()
        yield running
    finally:
        if running.proc.poll() is None:
            running.proc.send_signal(signal.SIGTERM)
            running.proc.wait(timeout=30)
        running.stop()


@pytest.fixture
def screenshot(browser, request) -> Callable[[str], Path]:
    """`screenshot(step)` saves the page as test-artifacts/browser/<test>-<step>.png; returns the path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def _take(step: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{step}.png"
        assert browser.save_screenshot(str(path)), path
        return path

    return _take
