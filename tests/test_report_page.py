"""The HTML report as a person sees it: a headless Chromium screenshot of a published report
(.ci/run installs Debian's chromium; elsewhere the test is skipped, saying why)."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO
from PIL import Image

PAGE = REPO / "results/published/mnist5k-100/report/index.html"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium (apt-get install chromium)")
def test_published_report_renders_in_a_browser(tmp_path: Path):
    screenshot = tmp_path / "report.png"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--hide-scrollbars",
            "--window-size=1280,6000",
            f"--screenshot={screenshot}",
            PAGE.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pixels = np.asarray(Image.open(screenshot).convert("L"))
    assert pixels.shape == (6000, 1280)
    drawn = pixels < 200
    # Six plots and the tables fill the page: every 1,000-pixel band holds drawn content.
    for top in range(0, 5000, 1000):
        assert drawn[top : top + 1000].sum() > 5000, f"blank between {top} and {top + 1000} px"
    # Centred: the content's left and right margins are alike.
    columns = np.flatnonzero(drawn.any(axis=0))
    left, right = columns[0], 1280 - columns[-1]
    assert abs(left - right) < 0.2 * 1280, (left, right)
