"""The Kubernetes API server: REST verbs, watch and discovery over a revision-log store.

Layers, top to bottom: ``server`` (aiohttp routing, the error boundary, start-up objects) ->
``handlers`` (one module per verb group) -> ``admission``/``strategy``/``allocation``/``crds``
(what the server decides around a write) -> ``object_store`` and ``watch_cache`` (objects on the
store) -> ``storage`` (SQLite or etcd). ``kinds``, ``patch`` and ``openapi`` hold per-kind
knowledge the handlers consult. ``APIServer`` in ``server`` is what ``kyb apiserver`` runs.
"""
