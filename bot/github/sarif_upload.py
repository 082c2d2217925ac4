"""Upload a SARIF report to code scanning (``POST /repos/{o}/{r}/code-scanning/sarifs``)."""

from __future__ import annotations

import base64
import gzip

from github import Github, GithubException

from bot.github.client import failure


def encode_sarif(sarif: str) -> str:
    """What the endpoint wants: the SARIF document gzip-compressed, then base64-encoded."""
    return base64.b64encode(gzip.compress(sarif.encode("utf-8"), mtime=0)).decode("ascii")


def upload_sarif(gh: Github, full_name: str, commit_sha: str, ref: str, sarif: str) -> str:
    """Returns the upload id (poll ``…/code-scanning/sarifs/{id}`` for processing)."""
    url = f"/repos/{full_name}/code-scanning/sarifs"
    payload = {"commit_sha": commit_sha, "ref": ref, "sarif": encode_sarif(sarif),
               "tool_name": "container-bp"}  # fmt: skip
    try:
        _, data = gh.requester.requestJsonAndCheck("POST", url, input=payload)
    except GithubException as exc:
        raise failure(f"upload SARIF to {full_name}", exc) from exc
    return str(data.get("id", ""))
