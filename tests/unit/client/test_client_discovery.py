"""Discovery folds subresources into their parent and uses each group's preferred version."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestServer

from client.api import ApiClient
from client.discovery import discover, server_version, with_verbs
from client.kubeconfig import ClusterConfig

DOCS = {
    "/version": {"major": "1", "minor": "32", "gitVersion": "v1.32.0"},
    "/api": {"kind": "APIVersions", "versions": ["v1"]},
    "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
        {"name": "pods", "namespaced": True, "kind": "Pod", "verbs": ["get", "list", "watch", "delete"],
         "shortNames": ["po"], "categories": ["all"]},
        {"name": "pods/status", "namespaced": True, "kind": "Pod", "verbs": ["get", "update"]},
        {"name": "pods/binding", "namespaced": True, "kind": "Binding", "verbs": ["create"]},
        {"name": "nodes", "namespaced": False, "kind": "Node", "verbs": ["get", "list"]},
    ]},
    "/apis": {"kind": "APIGroupList", "groups": [
        {"name": "example.com", "versions": [{"groupVersion": "example.com/v2", "version": "v2"},
                                             {"groupVersion": "example.com/v1", "version": "v1"}],
         "preferredVersion": {"groupVersion": "example.com/v2", "version": "v2"}},
    ]},
    "/apis/example.com/v2": {"kind": "APIResourceList", "groupVersion": "example.com/v2", "resources": [
        {"name": "widgets", "namespaced": True, "kind": "Widget", "verbs": ["get", "list", "watch", "delete"]},
    ]},
}


async def serve() -> TestServer:
    async def handler(request: web.Request) -> web.Response:
        doc = DOCS.get(request.path)
        return web.json_response(doc) if doc is not None else web.json_response({}, status=404)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


async def test_discover_lists_types_with_their_subresources() -> None:
    server = await serve()
    try:
        async with ApiClient(ClusterConfig(server=str(server.make_url("")).rstrip("/"))) as api:
            found = {str(r.resource): r for r in await discover(api)}
            assert (await server_version(api))["gitVersion"] == "v1.32.0"
        assert set(found) == {"pods", "nodes", "widgets.example.com"}
        pods = found["pods"]
        assert pods.resource.kind == "Pod" and pods.resource.namespaced
        assert pods.subresources == ("binding", "status")
        assert pods.short_names == ("po",) and pods.categories == ("all",)
        assert found["widgets.example.com"].resource.version == "v2"  # the preferred version
        assert not found["nodes"].resource.namespaced
        assert {str(r.resource) for r in with_verbs(found.values(), "list", "watch", "delete")} == \
            {"pods", "widgets.example.com"}
    finally:
        await server.close()
