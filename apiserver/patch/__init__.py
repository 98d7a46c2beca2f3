"""The three patch flavours the apiserver accepts, by content type.

``application/merge-patch+json`` -> ``apply_merge_patch``; ``application/json-patch+json`` ->
``apply_json_patch``; ``application/strategic-merge-patch+json`` -> ``apply_strategic_merge_patch``
(built-in kinds only); ``application/apply-patch+yaml`` -> ``apply_server_side`` (server-side
apply with field ownership; ``record_update`` keeps ownership current on ordinary writes). All
raise ``PatchError`` (``ApplyConflict`` for 409s); none modifies its input.
"""

from apiserver.patch.apply import ApplyConflict, apply_server_side, record_update
from apiserver.patch.errors import PatchError
from apiserver.patch.jsonpatch import apply_json_patch
from apiserver.patch.merge import apply_merge_patch, create_merge_patch
from apiserver.patch.strategic import apply_strategic_merge_patch, supports_strategic_merge

CONTENT_TYPES = {
    "application/merge-patch+json": "merge",
    "application/json-patch+json": "json",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
}

__all__ = ["CONTENT_TYPES", "ApplyConflict", "PatchError", "apply_json_patch", "apply_merge_patch",
           "apply_server_side", "apply_strategic_merge_patch", "create_merge_patch", "record_update",
           "supports_strategic_merge"]
