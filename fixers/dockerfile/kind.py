"""The Dockerfile kind for the engine."""

from __future__ import annotations

from typing import Any

from fixers.dockerfile import ignores
from fixers.dockerfile.entrypoints import entrypoint_scripts
from fixers.dockerfile.parser import Dockerfile, parse
from fixers.dockerfile.python_sources import python_modules
from fixers.images import ImageRef, parse_image


class DockerfileKind:
    name = "dockerfile"

    def parse(self, text: str) -> Dockerfile:
        return parse(text)

    def ignored_ids(self, doc: Any, line: int) -> frozenset[str]:
        return ignores.at_line(doc, line)

    def related(self, doc: Dockerfile, path: str) -> list[tuple[str, str]]:
        """The entrypoint scripts the final image starts with, as shell files to check too, and
        the Python modules it runs (``python app.py``, ``gunicorn app:app``...)."""
        scripts = [(script, "shell") for script in entrypoint_scripts(doc, path)]
        return scripts + [(module, "python") for module in python_modules(doc, path)]

    def images(self, doc: Dockerfile) -> list[ImageRef]:
        """External base images, for the registry lookup before the rules run."""
        found = []
        for stage in doc.stages:
            if stage.parent is None and stage.base_known:
                image = parse_image(stage.base)
                if image is not None:
                    found.append(image)
        return found

    def proposed_images(self, doc: Dockerfile) -> list[ImageRef]:
        """The runtime bases a multi-stage split (CBP113) may write."""
        from fixers.dockerfile.multistage import runtime_images

        return runtime_images(doc)
