"""Helpers for the bot's end-to-end tests against the GitHub double."""

from __future__ import annotations

from pathlib import Path

from github import Github

from bot.github.client import connect
from tests.github_double import GitHubDouble

DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo-repo"


def demo_files() -> dict[str, bytes]:
    return {
        p.relative_to(DEMO).as_posix(): p.read_bytes()
        for p in sorted(DEMO.rglob("*"))
        if p.is_file()
    }


def client(double: GitHubDouble) -> Github:
    return connect(double.base_url, double.token)
