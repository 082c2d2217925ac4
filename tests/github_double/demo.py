"""The bot on the demo repository, against the GitHub double: `python -m tests.github_double.demo`.

Pushes `fixtures/demo-repo` into a local GitHub API double (real git repositories behind it),
runs `container-bp action` as the runner would on a push (one fix pull request) and on a pull
request (one review with suggestions), and prints what GitHub would show.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from .server import GitHubDouble

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "fixtures" / "demo-repo"
OWNER, NAME = "acme", "shop"
FEATURE = b"""FROM node:20-bookworm-slim
WORKDIR /app
COPY . .
RUN apt-get update && apt-get install -y --no-install-recommends curl
CMD node server.js
"""


def _action(double: GitHubDouble, tmp: Path, event: str, payload: dict[str, object]) -> str:
    (tmp / "event.json").write_text(json.dumps(payload))
    env = {
        **os.environ,
        "CONTAINER_BP_OFFLINE": "1",  # the demo asks no registry
        "CONTAINER_BP_GITHUB_THROTTLE": "0",
        "GITHUB_API_URL": double.base_url,
        "GITHUB_REPOSITORY": f"{OWNER}/{NAME}",
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(tmp / "event.json"),
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_OUTPUT": str(tmp / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"),
        "INPUT_GITHUB-TOKEN": double.token,
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "action"], env=env, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"container-bp action failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def main() -> int:
    files = {p.relative_to(DEMO).as_posix(): p.read_bytes() for p in DEMO.rglob("*") if p.is_file()}
    with tempfile.TemporaryDirectory() as tmp, GitHubDouble(root=Path(tmp) / "git") as double:
        double.create_repo(OWNER, NAME, files)
        print(f"==> push to {OWNER}/{NAME} (the demo repository): `container-bp action`")
        _action(double, Path(tmp), "push", {"ref": "refs/heads/main"})
        pr = double.pulls(OWNER, NAME)[0]
        changed = double.git(OWNER, NAME).diff_files(
            str(pr["base_sha"]), str(double.git(OWNER, NAME).ref_sha(f"refs/heads/{pr['head']}"))
        )
        print(f"pull request #{pr['number']}: {pr['title']}")
        print(f"branch {pr['head']} -> {pr['base']}, {len(changed)} files changed,"
              f" labels {double.issue_labels(OWNER, NAME, int(pr['number']))}")  # fmt: skip
        body = str(pr["body"])
        print(f"body: {len(body)} characters; its summary table:\n")
        table = body.split("## Changes", 1)[-1].split("\n## ", 1)[0].strip()
        print("\n".join(table.splitlines()[:12]) + "\n...\n")
        requests = len(double.requests)
        _action(double, Path(tmp), "push", {"ref": "refs/heads/main"})
        print(
            f"==> the same push again: {len(double.requests) - requests} read requests,"
            f" {len(double.pulls(OWNER, NAME))} pull request, nothing written\n"
        )

        print("==> a pull request adding services/search/Dockerfile: review mode")
        double.commit_files(OWNER, NAME, "search", {"services/search/Dockerfile": FEATURE})
        answer = httpx.post(
            f"{double.base_url}/repos/{OWNER}/{NAME}/pulls",
            headers={"Authorization": f"token {double.token}"},
            json={"title": "Add search", "head": "search", "base": "main"},
        )
        number = int(answer.raise_for_status().json()["number"])
        _action(double, Path(tmp), "pull_request", {"pull_request": {"number": number}})
        comments = double.review_comments(OWNER, NAME, number)
        with_fix = [c for c in comments if "```suggestion" in str(c["body"])]
        print(f"one review, {len(comments)} inline comments, {len(with_fix)} with a suggestion;")
        shown = (with_fix or comments)[0]
        where = shown.get("start_line") or shown["line"]
        print(f"the first suggestion, on lines {where}-{shown['line']}:\n")
        text = re.sub(r"<!--.*?-->", "", str(shown["body"])).strip()
        print("  " + text.replace("\n", "\n  "))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
