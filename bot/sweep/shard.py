"""Splitting a sweep over a job matrix: stable shards, so a repository stays in its shard
when others are added or removed."""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence


class ShardError(ValueError):
    pass


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/3"`` -> (2, 3); shards count from 1."""
    index, _, total = text.strip().partition("/")
    try:
        i, n = int(index), int(total)
    except ValueError:
        raise ShardError(f"shard {text!r}: expected i/n, such as 1/3") from None
    if n < 1 or not 1 <= i <= n:
        raise ShardError(f"shard {text!r}: i must be between 1 and n")
    return i, n


def shard_of(full_name: str, total: int) -> int:
    return zlib.crc32(full_name.lower().encode()) % total + 1


def in_shard(names: Sequence[str], shard: tuple[int, int] | None) -> list[str]:
    if shard is None:
        return list(names)
    i, n = shard
    return [name for name in names if shard_of(name, n) == i]


def matrix(names: Sequence[str], total: int) -> dict[str, object]:
    """A GitHub Actions matrix (``strategy.matrix: ${{ fromJSON(...) }}``) with one entry per
    non-empty shard, and how many repositories each holds."""
    sizes = [len(in_shard(names, (i, total))) for i in range(1, total + 1)]
    include = [
        {"shard": f"{i}/{total}", "repositories": size}
        for i, size in enumerate(sizes, start=1)
        if size
    ]
    return {"include": include or [{"shard": f"1/{total}", "repositories": 0}]}


def matrix_json(names: Sequence[str], total: int) -> str:
    return json.dumps(matrix(names, total), separators=(",", ":"))
