"""Registry-backed pinning: resolve images to ``name:tag@sha256:<index digest>``.

The network lives here and only here; rules receive :class:`Resolution` values keyed by
:func:`resolution_key` and stay pure.
"""

from fixers.pinning.auth import (
    Challenge,
    Credentials,
    load_credentials,
    parse_credentials,
    parse_www_authenticate,
)
from fixers.pinning.client import (
    ACCEPT_MANIFESTS,
    BadResponseError,
    BudgetExhaustedError,
    ManifestDigest,
    NotFoundError,
    RegistryClient,
    RegistryError,
    RequestStats,
    RequestTimeoutError,
    UnauthorizedError,
    UnavailableError,
)
from fixers.pinning.model import (
    Resolution,
    Resolver,
    StaticResolver,
    needs_resolution,
    registry_host,
    repository,
    resolution_key,
)
from fixers.pinning.resolver import (
    OFFLINE_ERROR,
    RegistryResolver,
    floating_variant,
    resolve_all,
    version_candidates,
)

__all__ = [
    "ACCEPT_MANIFESTS",
    "OFFLINE_ERROR",
    "BadResponseError",
    "BudgetExhaustedError",
    "Challenge",
    "Credentials",
    "ManifestDigest",
    "NotFoundError",
    "RegistryClient",
    "RegistryError",
    "RegistryResolver",
    "RequestStats",
    "RequestTimeoutError",
    "Resolution",
    "Resolver",
    "StaticResolver",
    "UnauthorizedError",
    "UnavailableError",
    "floating_variant",
    "load_credentials",
    "needs_resolution",
    "parse_credentials",
    "parse_www_authenticate",
    "registry_host",
    "repository",
    "resolution_key",
    "resolve_all",
    "version_candidates",
]
