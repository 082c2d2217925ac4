"""What rules may know from outside the file, gathered before they run (they never fetch it).

Today: registry resolutions for image pinning, and the pinning settings from the config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from fixers.images import ImageRef
from fixers.pinning.model import Resolution, resolution_key


@dataclass(frozen=True)
class Facts:
    resolutions: Mapping[str, Resolution] = field(default_factory=dict)
    # Whether a resolver ran; without one, pins are reported as "not resolved (offline)".
    resolved: bool = False
    pin_digests: bool = True
    pin_ignore: tuple[str, ...] = ()
    # Lookups for images a fix may write, not ones the files use: their failure is no gap.
    proposed: frozenset[str] = frozenset()

    def resolution(self, image: ImageRef) -> Resolution | None:
        return self.resolutions.get(resolution_key(image))
