"""Compose files: the ``services`` mapping, with positions for text edits."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap

from fixers.images import ImageRef, parse_image
from fixers.yamldoc import NotThisKind, YamlStream, load_stream
from fixers.yamlignores import comment_ignores


@dataclass
class ComposeDoc:
    stream: YamlStream
    services: CommentedMap
    lines: list[str]

    def items(self) -> Iterator[tuple[str, CommentedMap]]:
        for name, service in self.services.items():
            if isinstance(service, CommentedMap):
                yield str(name), service


def parse_compose(text: str) -> ComposeDoc:
    stream = load_stream(text)
    top = stream.documents[0] if stream.documents else None
    services = top.get("services") if isinstance(top, CommentedMap) else None
    if not isinstance(services, CommentedMap):
        raise NotThisKind("no `services` mapping: not a compose file", 1)
    return ComposeDoc(stream, services, text.splitlines())


class ComposeKind:
    name = "compose"

    def parse(self, text: str) -> ComposeDoc:
        return parse_compose(text)

    def ignored_ids(self, doc: Any, line: int) -> frozenset[str]:
        return comment_ignores(doc.lines, line)

    def images(self, doc: ComposeDoc) -> list[ImageRef]:
        found = []
        for _, service in doc.items():
            image = parse_image(str(service.get("image", "")))
            if image is not None:
                found.append(image)
        return found
