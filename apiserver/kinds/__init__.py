"""Per-kind knowledge of the apiserver: which types exist, their defaults, validation and tables."""

from apiserver.kinds.registry import (
    ResourceType,
    all_types,
    by_kind,
    lookup,
    register_custom,
    unregister_custom,
)

__all__ = ["ResourceType", "all_types", "by_kind", "lookup", "register_custom", "unregister_custom"]
