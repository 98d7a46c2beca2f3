"""Kubeconfig loading as kubectl does it, ending in a real mutual-TLS request with bearer token."""

from __future__ import annotations

import base64
import os
import ssl
import subprocess
from pathlib import Path

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer

from client.api import ApiClient
from client.errors import KubeconfigError
from client.kubeconfig import load_in_cluster, load_kubeconfig
from client.resources import NODES


def write_config(path: Path, *, server: str = "http://127.0.0.1:6443", cluster: dict | None = None,
                 user: dict | None = None, current: str | None = "ctx", namespace: str | None = None,
                 name: str = "ctx") -> Path:
    ctx: dict = {"cluster": f"{name}-cluster", "user": f"{name}-user"}
    if namespace:
        ctx["namespace"] = namespace
    doc: dict = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": f"{name}-cluster", "cluster": {"server": server, **(cluster or {})}}],
        "users": [{"name": f"{name}-user", "user": user or {}}],
        "contexts": [{"name": name, "context": ctx}],
    }
    if current:
        doc["current-context"] = current
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl."""
    d = tmp_path_factory.mktemp("pki")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/CN=kyb-test-ca")
    for who, ext in (("server", "subjectAltName=IP:127.0.0.1"), ("client", "extendedKeyUsage=clientAuth")):
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{who}.key", "-out", f"{who}.csr",
            "-subj", f"/CN={who}")
        (d / f"{who}.ext").write_text(ext + "\n")
        run("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{who}.crt", "-days", "2", "-extfile", f"{who}.ext")
    return d


def test_current_context_selects_cluster_user_and_namespace(tmp_path: Path) -> None:
    cfg = load_kubeconfig(write_config(tmp_path / "config", user={"token": "abc"}, namespace="team"))
    assert cfg.server == "http://127.0.0.1:6443"
    assert cfg.namespace == "team" and cfg.context_name == "ctx"
    assert cfg.headers() == {"Authorization": "Bearer abc"}
    assert cfg.ssl_context is None


def test_explicit_context_overrides_current(tmp_path: Path) -> None:
    path = write_config(tmp_path / "config", current="missing")
    with pytest.raises(KubeconfigError, match="'missing' is not in the kubeconfig"):
        load_kubeconfig(path)
    assert load_kubeconfig(path, context="ctx").context_name == "ctx"


def test_no_current_context_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match="no current-context"):
        load_kubeconfig(write_config(tmp_path / "config", current=None))


def test_kubeconfig_env_merges_files_first_one_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = write_config(tmp_path / "a", server="http://a:1", current=None, name="shared")
    b = write_config(tmp_path / "b", server="http://b:2", current="shared", name="shared")
    monkeypatch.setenv("KUBECONFIG", f"{a}{os.pathsep}{tmp_path / 'absent'}{os.pathsep}{b}")
    cfg = load_kubeconfig()
    assert cfg.server == "http://a:1"  # name defined first in a; current-context only in b


def test_missing_default_kubeconfig_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(KubeconfigError, match="KUBECONFIG"):
        load_kubeconfig()


def test_basic_auth_header(tmp_path: Path) -> None:
    cfg = load_kubeconfig(write_config(tmp_path / "c", user={"username": "admin", "password": "s3cret"}))
    assert cfg.headers() == {"Authorization": "Basic " + base64.b64encode(b"admin:s3cret").decode()}


def test_token_file_is_relative_to_the_kubeconfig_and_reread_when_rotated(tmp_path: Path) -> None:
    (tmp_path / "tok").write_text("first\n")
    cfg = load_kubeconfig(write_config(tmp_path / "c", user={"tokenFile": "tok"}))
    assert cfg.headers() == {"Authorization": "Bearer first"}
    (tmp_path / "tok").write_text("second\n")
    os.utime(tmp_path / "tok", (1, 1))  # a different mtime, as a rotation gives
    assert cfg.headers() == {"Authorization": "Bearer second"}


def test_unreadable_token_file_fails_at_load(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match="token file"):
        load_kubeconfig(write_config(tmp_path / "c", user={"tokenFile": "nope"}))


def test_exec_plugins_are_refused(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match="exec"):
        load_kubeconfig(write_config(tmp_path / "c", user={"exec": {"command": "x"}}))


def test_malformed_yaml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "c").write_text("clusters: [\n")
    with pytest.raises(KubeconfigError, match="not valid YAML"):
        load_kubeconfig(tmp_path / "c")


def test_bad_ca_data_is_rejected(tmp_path: Path) -> None:
    bogus = base64.b64encode(b"not a certificate").decode()
    with pytest.raises(KubeconfigError, match="certificate authority"):
        load_kubeconfig(write_config(tmp_path / "c", server="https://127.0.0.1:1",
                                     cluster={"certificate-authority-data": bogus}))


def test_insecure_skip_tls_verify_disables_verification(tmp_path: Path) -> None:
    cfg = load_kubeconfig(write_config(tmp_path / "c", server="https://127.0.0.1:1",
                                       cluster={"insecure-skip-tls-verify": True}))
    assert cfg.ssl_context is not None and cfg.ssl_context.verify_mode == ssl.CERT_NONE


def test_in_cluster_config_reads_the_service_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     pki: Path) -> None:
    (tmp_path / "token").write_text("sa-token")
    (tmp_path / "namespace").write_text("kube-system")
    (tmp_path / "ca.crt").write_bytes((pki / "ca.crt").read_bytes())
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    cfg = load_in_cluster(tmp_path)
    assert cfg.server == "https://10.96.0.1:443" and cfg.namespace == "kube-system"
    assert cfg.headers() == {"Authorization": "Bearer sa-token"}


async def _serve_tls(pki: Path, seen: list[dict]) -> TestServer:
    async def handler(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peercert") if request.transport else None
        seen.append({"auth": request.headers.get("Authorization"), "peer": peer})
        return web.json_response({"kind": "Node", "apiVersion": "v1", "metadata": {"name": "n1"}})

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki / "ca.crt"))
    ctx.load_cert_chain(str(pki / "server.crt"), str(pki / "server.key"))
    ctx.verify_mode = ssl.CERT_REQUIRED
    app = web.Application()
    app.router.add_get("/api/v1/nodes/n1", handler)
    server = TestServer(app, host="127.0.0.1", ssl=ctx)
    await server.start_server(ssl=ctx)
    return server


@pytest.mark.parametrize("inline", [True, False], ids=["data-fields", "file-paths"])
async def test_mutual_tls_with_token_reaches_a_tls_server(tmp_path: Path, pki: Path, inline: bool) -> None:
    seen: list[dict] = []
    server = await _serve_tls(pki, seen)
    try:
        def b64(name: str) -> str:
            return base64.b64encode((pki / name).read_bytes()).decode()

        if inline:
            cluster = {"certificate-authority-data": b64("ca.crt")}
            user = {"client-certificate-data": b64("client.crt"), "client-key-data": b64("client.key"),
                    "token": "t0k"}
        else:
            for name in ("ca.crt", "client.crt", "client.key"):
                (tmp_path / name).write_bytes((pki / name).read_bytes())
            cluster = {"certificate-authority": "ca.crt"}
            user = {"client-certificate": "client.crt", "client-key": str(tmp_path / "client.key"),
                    "token": "t0k"}
        path = write_config(tmp_path / "config", server=f"https://127.0.0.1:{server.port}", cluster=cluster,
                            user=user)
        async with ApiClient.from_kubeconfig(path) as api:
            node = await api.get(NODES, "n1")
        assert node["metadata"]["name"] == "n1"
        assert seen[0]["auth"] == "Bearer t0k"
        assert dict(x[0] for x in seen[0]["peer"]["subject"])["commonName"] == "client"
    finally:
        await server.close()


async def test_server_with_unknown_ca_is_refused(tmp_path: Path, pki: Path) -> None:
    from client.errors import TransportError
    from client.transport import NO_RETRY

    seen: list[dict] = []
    server = await _serve_tls(pki, seen)
    try:
        path = write_config(tmp_path / "config", server=f"https://127.0.0.1:{server.port}")
        async with ApiClient.from_kubeconfig(path, retry=NO_RETRY) as api:
            with pytest.raises(TransportError):
                await api.get(NODES, "n1")
        assert seen == []
    finally:
        await server.close()


def test_load_config_prefers_kubeconfig_env_over_in_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from client.kubeconfig import load_config

    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    monkeypatch.setenv("KUBECONFIG", str(write_config(tmp_path / "c", server="http://from-file:1")))
    assert load_config().server == "http://from-file:1"
    monkeypatch.delenv("KUBECONFIG")
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config and no service account here
    with pytest.raises(KubeconfigError):
        load_config()
