"""OpenAPI v2 and v3 documents for kubectl explain, validation and apply (see ``documents``)."""

from apiserver.openapi.documents import (
    document_hash,
    gv_path,
    openapi_v2,
    openapi_v3_for_path,
    openapi_v3_group,
    openapi_v3_paths,
)

__all__ = ["document_hash", "gv_path", "openapi_v2", "openapi_v3_for_path", "openapi_v3_group",
           "openapi_v3_paths"]
