"""Observer responsiveness: frame times in a real headless Chromium watching a busy town.

    python benchmarks/bench_observer.py [--agents 64] [--speed 100] [--frames 600] [--json]

Starts ``townlet run --observe`` with ``--agents`` citizens, opens the page in
Debian's headless Chromium (selenium, /usr/bin/chromedriver), sets the speed
and lets the page record ``requestAnimationFrame`` intervals for
``--frames`` frames. Reports frame-time percentiles, dropped frames
(intervals past 1.5 × the display's 16.7 ms, counted as the frames they
skipped) and the ticks/s the page saw.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.observer.helpers import CHROMEDRIVER, CHROMIUM, browser_missing, start_townlet  # noqa: E402

FRAME_MS = 1000 / 60


def measure(agents: int, speed: str, frames: int) -> dict[str, Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    work = Path(tempfile.mkdtemp(prefix="bench-observer-"))
    run = start_townlet(
        "run", "--observe", "--port", "0", "--ticks", "10000000",
        "--set", f"world.agents={agents}", cwd=work,
    )  # fmt: skip
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--window-size=1400,900", f"--user-data-dir={work / 'profile'}",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.get(run.url)
        wait = WebDriverWait(driver, 120, poll_frequency=0.1)
        wait.until(lambda d: d.execute_script("return window.townlet?.hello != null"))
        driver.find_element("css selector", f'#speed button[data-speed="{speed}"]').click()
        wait.until(lambda d: d.execute_script("return window.townlet.speed") == speed)
        tick0 = driver.execute_script("return window.townlet.state.tick")
        driver.execute_script("window.townlet.resetFrames()")
        started = time.monotonic()
        wait.until(
            lambda d: d.execute_script("return window.townlet.frameTimes().length") >= frames
        )
        seconds = time.monotonic() - started
        times = driver.execute_script("return window.townlet.frameTimes()")[:frames]
        tick1 = driver.execute_script("return window.townlet.state.tick")
        drawn = int(driver.find_element("id", "map").get_attribute("data-drawn"))
    finally:
        driver.quit()
        run.stop()
    times.sort()
    dropped = sum(max(0, round(t / FRAME_MS) - 1) for t in times if t > 1.5 * FRAME_MS)
    return {
        "agents": agents,
        "citizens_drawn": drawn,
        "speed": speed,
        "frames": len(times),
        "frame_ms_mean": round(statistics.fmean(times), 2),
        "frame_ms_p50": round(times[len(times) // 2], 2),
        "frame_ms_p95": round(times[int(len(times) * 0.95)], 2),
        "frame_ms_max": round(times[-1], 2),
        "dropped_frames": dropped,
        "dropped_share": round(dropped / (len(times) + dropped), 4),
        "ticks_per_second_seen": round((tick1 - tick0) / seconds, 1),
        "python": platform.python_version(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=64)
    parser.add_argument("--speed", default="100", choices=["1", "10", "100", "max"])
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if (why := browser_missing()) is not None:
        print(f"bench_observer: skipped: {why}")
        return
    result = measure(args.agents, args.speed, args.frames)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:24} {value}")


if __name__ == "__main__":
    main()
