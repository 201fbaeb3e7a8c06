"""Observer test helpers: a real ``townlet run --observe``, a real headless Chromium.

Browser tests (marked ``browser``) skip, saying why, where no Chromium,
chromedriver or selenium is installed (Debian: ``apt-get install chromium
chromium-driver``; ``pip install selenium``). Screenshots go to
``$TOWNLET_OBSERVER_SCREENSHOTS`` when set, else to the test's tmp_path.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("TOWNLET_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("TOWNLET_CHROMEDRIVER", "/usr/bin/chromedriver")
ADMIN = "admin-secret-token"
VIEWER = "viewer-secret-token"
HANG_GUARD_S = 60.0
"""Longest wait for any page or process state (a guard against hangs, not a timing)."""


@dataclass
class Observed:
    """A ``townlet`` process serving the observer page."""

    proc: subprocess.Popen[str]
    url: str
    lines: list[str] = field(default_factory=list)
    drain: threading.Thread | None = None

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Signal the process, wait for it and close its pipe (idempotent)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(15)
        if self.drain is not None:
            self.drain.join(15)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_townlet(*args: str, cwd: Path) -> Observed:
    """Start ``townlet ARGS`` and wait for its ``observer: URL`` line on stderr."""
    env = {
        **os.environ,
        "TOWNLET_CONSOLE_ADMIN_TOKEN": ADMIN,
        "TOWNLET_CONSOLE_VIEWER_TOKEN": VIEWER,
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "townlet.core", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: queue.Queue[str | None] = queue.Queue()
    lines: list[str] = []

    def drain() -> None:  # keeps the pipe empty for the whole run
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            seen.put(line)
        seen.put(None)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    while True:
        try:
            line = seen.get(timeout=HANG_GUARD_S)
        except queue.Empty:
            proc.kill()
            raise AssertionError("townlet printed no observer URL:\n" + "".join(lines)) from None
        if line is None:
            raise AssertionError(f"townlet exited {proc.wait()}:\n" + "".join(lines))
        if line.startswith("observer: "):
            return Observed(proc, line.split(" ", 1)[1].strip(), lines, reader)


@pytest.fixture
def observe(tmp_path: Path) -> Iterator[Callable[..., Observed]]:
    """Start ``townlet run --observe`` (extra CLI args allowed); stopped after the test."""
    started: list[Observed] = []

    def start(*args: str, port: int = 0) -> Observed:
        run = start_townlet(
            "run", "--observe", "--port", str(port), "--ticks", "1000000", *args, cwd=tmp_path
        )
        started.append(run)
        return run

    yield start
    for run in started:
        run.stop()


def browser_missing() -> str | None:
    """Why no browser test can run here, or None."""
    if not Path(CHROMIUM).exists() or not Path(CHROMEDRIVER).exists():
        return (
            f"no Chromium at {CHROMIUM} or chromedriver at {CHROMEDRIVER} "
            "(apt-get install chromium chromium-driver)"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Chromium driven by selenium (never downloads a driver)."""
    why = browser_missing()
    if why is not None:
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--window-size=1400,900",
    ):  # fmt: skip
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="townlet-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def screenshot(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    """Save the page as PNG: ``screenshot(driver, name)``."""
    folder = Path(os.environ.get("TOWNLET_OBSERVER_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)

    def save(driver: Any, name: str) -> Path:
        path = folder / f"{request.node.name}-{name}.png"
        driver.save_screenshot(str(path))
        return path

    return save
