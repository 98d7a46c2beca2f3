"""Crash safety and shared stores: what an apiserver acknowledged survives, and peers see it."""

from __future__ import annotations

import http.client
import json
import signal
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from apiserver_process import start_apiserver, stop_apiserver

from apiserver.storage.etcd_process import EtcdProcess


def _post(url: str, path: str, body: dict) -> tuple[int, dict]:
    parsed = urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
    try:
        conn.request("POST", path, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"{}")
    finally:
        conn.close()


def _get(url: str, path: str) -> tuple[int, dict]:
    parsed = urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"{}")
    finally:
        conn.close()


def _cm(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"n": name}}


def test_sigkill_mid_stream_loses_no_acknowledged_write(tmp_path: Path) -> None:
    server = start_apiserver(tmp_path / "data")
    acknowledged: list[str] = []
    stop = threading.Event()

    def writer(n: int) -> None:
        i = 0
        while not stop.is_set():
            name = f"durable-{n}-{i}"
            try:
                status, _ = _post(server.url, "/api/v1/namespaces/default/configmaps", _cm(name))
            except OSError:
                return  # the server is gone: this write was never acknowledged
            if status == 201:
                acknowledged.append(name)
            i += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < 50 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(10)
    stop.set()
    for t in threads:
        t.join(15)
    assert len(acknowledged) >= 50

    restarted = start_apiserver(tmp_path / "data")
    try:
        status, listing = _get(restarted.url, "/api/v1/namespaces/default/configmaps")
        assert status == 200
        stored = {item["metadata"]["name"] for item in listing["items"]}
        missing = [n for n in acknowledged if n not in stored]
        assert not missing, f"{len(missing)} acknowledged writes lost: {missing[:5]}"
    finally:
        stop_apiserver(restarted)


@pytest.fixture
def etcd(tmp_path: Path):
    server = EtcdProcess(tmp_path / "etcd")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_two_apiservers_on_one_etcd_see_each_others_writes_in_watches(tmp_path: Path, etcd) -> None:
    a = start_apiserver(tmp_path / "a", "--datastore", etcd.datastore)
    b = start_apiserver(tmp_path / "b", "--datastore", etcd.datastore)
    try:
        status, listing = _get(b.url, "/api/v1/namespaces/default/configmaps")
        assert status == 200
        rv = listing["metadata"]["resourceVersion"]
        parsed = urlparse(b.url)
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=15)
        conn.request("GET", f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}&timeoutSeconds=10")
        resp = conn.getresponse()
        assert resp.status == 200
        status, created = _post(a.url, "/api/v1/namespaces/default/configmaps", _cm("from-a"))
        assert status == 201, created
        event = json.loads(resp.readline())
        conn.close()
        assert event["type"] == "ADDED" and event["object"]["metadata"]["name"] == "from-a"
        assert event["object"]["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
        # Both servers allocate ClusterIPs from the same store: no duplicates.
        ips = set()
        for i, server in enumerate((a, b, a, b)):
            svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"svc-{i}"},
                   "spec": {"ports": [{"port": 80}]}}
            status, body = _post(server.url, "/api/v1/namespaces/default/services", svc)
            assert status == 201, body
            ips.add(body["spec"]["clusterIP"])
        assert len(ips) == 4
        # A CRD stored through one server is served by the other once its watch delivers it.
        crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
               "metadata": {"name": "gadgets.example.com"},
               "spec": {"group": "example.com", "scope": "Namespaced",
                        "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
                        "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                            "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}
        status, body = _post(a.url, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
        assert status == 201, body
        gadget = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g1"}}
        deadline = time.monotonic() + 10
        while True:
            status, body = _post(b.url, "/apis/example.com/v1/namespaces/default/gadgets", gadget)
            if status == 201 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert status == 201, body
    finally:
        stop_apiserver(a)
        stop_apiserver(b)
