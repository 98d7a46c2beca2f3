"""The asyncio client every kybernetes component uses to talk to the apiserver.

Layers, bottom up (each module's docstring says more):

- ``resources`` / ``request``: resource descriptions and requests as plain data (no I/O);
- ``transport``: the one place that does HTTP (timeouts, retries, ``Status`` -> ``errors``);
- ``kubeconfig``: where the server is and how to authenticate;
- ``api`` (``ApiClient``) and ``watch``: the REST verbs and a resuming watch;
- ``cache`` / ``informer``: list+watch into an indexed local cache, with event handlers;
- ``workqueue`` / ``ratelimit`` / ``clock`` / ``controller``: keys, backoff and reconcile workers;
- ``discovery``: which types the server serves (for the GC and namespace controller);
- ``conflicts``, ``wait``, ``events``, ``leaderelection``: read-change-write retries, waiting on an
  object, recording Events, and one-active-replica election over a Lease;
- ``objects``, ``patches``, ``labels``, ``fields``, ``quantity``: helpers for object dicts.

Importing ``client`` gives the everyday names (``ApiClient``, the errors, ``Resource``); the
rest is imported from its module (``from client.informer import Informer``).
"""

from client.api import ApiClient, ObjectList
from client.errors import (
    AlreadyExists,
    ApiError,
    ClientError,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    KubeconfigError,
    NotFound,
    ServerTimeout,
    TransportError,
    Unauthorized,
)
from client.request import PatchType, PropagationPolicy
from client.resources import Resource
from client.watch import WatchEvent

__all__ = [
    "AlreadyExists", "ApiClient", "ApiError", "ClientError", "Conflict", "Forbidden", "Gone", "Invalid",
    "KubeconfigError", "NotFound", "ObjectList", "PatchType", "PropagationPolicy", "Resource", "ServerTimeout",
    "TransportError", "Unauthorized", "WatchEvent",
]
