"""The bot part of `bash .ci/demo` keeps working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bot_demo_opens_a_pr_and_posts_a_suggestion() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.github_double.demo"],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "pull request #1: container-bp: fix" in done.stdout
    assert "nothing written" in done.stdout and "```suggestion" in done.stdout
