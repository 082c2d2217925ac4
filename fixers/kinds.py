"""A kind of file: how to parse it and which ignore comments apply to a line of it."""

from __future__ import annotations

from typing import Any, Protocol

from fixers.images import ImageRef


class Kind(Protocol):
    name: str

    def parse(self, text: str) -> Any:
        """The document model; raises ValueError (with a line) when the text is not valid."""
        ...

    def ignored_ids(self, doc: Any, line: int) -> frozenset[str]:
        """Rule ids (ours or peer tools') that in-file comments switch off at ``line``.

        ``"*"`` switches off every rule.
        """
        ...


def related_files(kind: Kind, doc: Any, path: str) -> list[tuple[str, str]]:
    """Other files this document makes relevant, as (path, kind): e.g. an entrypoint script."""
    finder = getattr(kind, "related", None)
    return list(finder(doc, path)) if finder is not None else []


def images_of(kind: Kind, doc: Any) -> list[ImageRef]:
    """The image references a document uses, for kinds that have any."""
    finder = getattr(kind, "images", None)
    return list(finder(doc)) if finder is not None else []


def proposed_images_of(kind: Kind, doc: Any) -> list[ImageRef]:
    """Images a fix may write into the document (not there yet), looked up ahead so that the
    new reference can be pinned in the same run."""
    finder = getattr(kind, "proposed_images", None)
    return list(finder(doc)) if finder is not None else []


def object_at(kind: Kind, doc: Any, line: int) -> tuple[str, str] | None:
    """(kind, name) of the object at a line, for kinds made of named objects (Kubernetes)."""
    finder = getattr(kind, "object_at", None)
    result: tuple[str, str] | None = finder(doc, line) if finder is not None else None
    return result
