"""Kubeconfig files and in-cluster service-account credentials -> how to reach an apiserver.

The result is a ``ClusterConfig``: the server URL, an ``ssl.SSLContext`` (None for plain HTTP)
and a ``Credentials`` object that yields the ``Authorization`` header per request. Loading
follows kubectl:

- the file comes from an explicit path, else ``$KUBECONFIG`` (a ``:``-separated list whose
  files are merged, the first file to define a name or ``current-context`` winning), else
  ``~/.kube/config``;
- the context is the one asked for, else ``current-context``;
- relative file references (``certificate-authority``, ``client-certificate``, ``client-key``,
  ``tokenFile``) are relative to the kubeconfig file that holds them;
- ``*-data`` fields are base64 PEM; ``insecure-skip-tls-verify`` turns verification off;
- user auth is a client certificate, a bearer ``token`` / ``tokenFile``, or basic auth.

``tokenFile`` is read again when its mtime changes, because projected service-account tokens
are rotated in place. ``exec`` and ``auth-provider`` plugins are refused with a clear error rather
than silently sending no credentials.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from client.errors import KubeconfigError

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


@dataclass
class Credentials:
    """What goes into the Authorization header: a token (inline or from a file) or basic auth."""

    token: str | None = None
    token_file: Path | None = None
    username: str | None = None
    password: str | None = None
    _file_token: str | None = field(default=None, repr=False)
    _file_mtime: float | None = field(default=None, repr=False)

    def headers(self) -> dict[str, str]:
        token = self._current_token()
        if token:
            return {"Authorization": f"Bearer {token}"}
        if self.username is not None:
            raw = f"{self.username}:{self.password or ''}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        return {}

    def _current_token(self) -> str | None:
        if self.token_file is None:
            return self.token
        try:
            mtime = self.token_file.stat().st_mtime
            if self._file_token is None or mtime != self._file_mtime:
                self._file_token = self.token_file.read_text().strip()
                self._file_mtime = mtime
        except OSError as e:
            if self._file_token is None:
                raise KubeconfigError(f"cannot read token file {self.token_file}: {e.strerror}") from e
        return self._file_token or self.token


@dataclass
class ClusterConfig:
    server: str
    ssl_context: ssl.SSLContext | None = None
    credentials: Credentials = field(default_factory=Credentials)
    namespace: str = "default"  # the context's default namespace
    context_name: str = ""

    def headers(self) -> dict[str, str]:
        return self.credentials.headers()


def _decode_b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=False)
    except (ValueError, TypeError) as e:
        raise KubeconfigError(f"{what} is not valid base64: {e}") from e


def _resolve(base: Path, value: str) -> Path:
    p = Path(os.path.expanduser(value))
    return p if p.is_absolute() else base / p


def _read_file(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise KubeconfigError(f"cannot read {what} {path}: {e.strerror}") from e


def make_ssl_context(*, ca_pem: bytes | None = None, cert_pem: bytes | None = None,
                     key_pem: bytes | None = None, insecure: bool = False,
                     server_hostname_check: bool = True) -> ssl.SSLContext:
    """A client TLS context: trust ``ca_pem`` (else the system store), present a client cert if given."""
    ctx = ssl.create_default_context()
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    else:
        if ca_pem:
            try:
                ctx.load_verify_locations(cadata=ca_pem.decode("ascii", "replace"))
            except ssl.SSLError as e:
                raise KubeconfigError(f"certificate authority is not a valid PEM certificate: {e}") from e
        ctx.check_hostname = server_hostname_check
    if cert_pem or key_pem:
        if not (cert_pem and key_pem):
            raise KubeconfigError("a client certificate needs both the certificate and its key")
        # ssl can load a key pair only from files: hand it a private temporary copy.
        with tempfile.TemporaryDirectory(prefix="kyb-tls-") as tmp:
            cert_path, key_path = Path(tmp, "client.crt"), Path(tmp, "client.key")
            for path, data in ((cert_path, cert_pem), (key_path, key_pem)):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
            try:
                ctx.load_cert_chain(str(cert_path), str(key_path))
            except ssl.SSLError as e:
                raise KubeconfigError(f"client certificate and key do not load: {e}") from e
    return ctx


def _named(entries: Any, what: str) -> dict[str, dict[str, Any]]:
    """``clusters``/``users``/``contexts`` as name -> inner mapping (``cluster``, ``user``, ...)."""
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise KubeconfigError(f"kubeconfig {what} must be a list")
    inner = what[:-1]
    return {str(e.get("name")): (e.get(inner) or {}) for e in entries if isinstance(e, dict)}


@dataclass
class _Merged:
    clusters: dict[str, tuple[dict[str, Any], Path]] = field(default_factory=dict)
    users: dict[str, tuple[dict[str, Any], Path]] = field(default_factory=dict)
    contexts: dict[str, tuple[dict[str, Any], Path]] = field(default_factory=dict)
    current_context: str = ""


def _merge_files(paths: list[Path]) -> _Merged:
    merged = _Merged()
    for path in paths:
        text = _read_file(path, "kubeconfig").decode("utf-8", "replace")
        try:
            doc = yaml.safe_load(text) or {}
        except yaml.YAMLError as e:
            raise KubeconfigError(f"kubeconfig {path} is not valid YAML: {e}") from e
        if not isinstance(doc, dict):
            raise KubeconfigError(f"kubeconfig {path} is not a mapping")
        base = path.parent
        for what, table in (("clusters", merged.clusters), ("users", merged.users),
                            ("contexts", merged.contexts)):
            for name, entry in _named(doc.get(what), what).items():
                table.setdefault(name, (entry, base))  # the first file to define a name wins
        if not merged.current_context and doc.get("current-context"):
            merged.current_context = str(doc["current-context"])
    return merged


def kubeconfig_paths(path: str | os.PathLike[str] | None = None) -> list[Path]:
    """Which files to read: the explicit one, else $KUBECONFIG's list, else ~/.kube/config."""
    if path:
        return [Path(path)]
    env = os.environ.get("KUBECONFIG", "")
    if env:
        found = [Path(p) for p in env.split(os.pathsep) if p]
        existing = [p for p in found if p.exists()]
        if not existing:
            raise KubeconfigError(f"none of the files in KUBECONFIG exist: {env}")
        return existing
    default = Path(os.path.expanduser("~/.kube/config"))
    if not default.exists():
        raise KubeconfigError("no kubeconfig: give a path, set KUBECONFIG, or create ~/.kube/config")
    return [default]


def load_kubeconfig(path: str | os.PathLike[str] | None = None, context: str | None = None) -> ClusterConfig:
    """The ClusterConfig of ``context`` (default: current-context) in the chosen kubeconfig."""
    merged = _merge_files(kubeconfig_paths(path))
    ctx_name = context or merged.current_context
    if not ctx_name:
        raise KubeconfigError("kubeconfig has no current-context; name a context")
    if ctx_name not in merged.contexts:
        raise KubeconfigError(f"context {ctx_name!r} is not in the kubeconfig")
    ctx, _ = merged.contexts[ctx_name]
    cluster_name, user_name = ctx.get("cluster"), ctx.get("user")
    if cluster_name not in merged.clusters:
        raise KubeconfigError(f"context {ctx_name!r} names cluster {cluster_name!r}, which is not defined")
    cluster, cluster_base = merged.clusters[cluster_name]
    user: Mapping[str, Any] = {}
    user_base = cluster_base
    if user_name:
        if user_name not in merged.users:
            raise KubeconfigError(f"context {ctx_name!r} names user {user_name!r}, which is not defined")
        user, user_base = merged.users[user_name]
    config = config_from_entries(cluster, user, cluster_base=cluster_base, user_base=user_base)
    config.namespace = ctx.get("namespace") or "default"
    config.context_name = ctx_name
    return config


def config_from_entries(cluster: Mapping[str, Any], user: Mapping[str, Any], *,
                        cluster_base: Path = Path(), user_base: Path = Path()) -> ClusterConfig:
    """A ClusterConfig from one kubeconfig ``cluster`` and ``user`` entry."""
    server = str(cluster.get("server") or "").rstrip("/")
    if not server.startswith(("http://", "https://")):
        raise KubeconfigError(f"cluster server {server!r} is not an http(s) URL")
    if "exec" in user or "auth-provider" in user:
        raise KubeconfigError("kubeconfig users with exec or auth-provider plugins are not supported")

    ca_pem: bytes | None = None
    if cluster.get("certificate-authority-data"):
        ca_pem = _decode_b64(cluster["certificate-authority-data"], "certificate-authority-data")
    elif cluster.get("certificate-authority"):
        ca_pem = _read_file(_resolve(cluster_base, cluster["certificate-authority"]), "certificate authority")

    cert_pem = key_pem = None
    if user.get("client-certificate-data"):
        cert_pem = _decode_b64(user["client-certificate-data"], "client-certificate-data")
    elif user.get("client-certificate"):
        cert_pem = _read_file(_resolve(user_base, user["client-certificate"]), "client certificate")
    if user.get("client-key-data"):
        key_pem = _decode_b64(user["client-key-data"], "client-key-data")
    elif user.get("client-key"):
        key_pem = _read_file(_resolve(user_base, user["client-key"]), "client key")

    ssl_context = None
    if server.startswith("https://"):
        ssl_context = make_ssl_context(ca_pem=ca_pem, cert_pem=cert_pem, key_pem=key_pem,
                                       insecure=bool(cluster.get("insecure-skip-tls-verify")))
    elif cert_pem:
        raise KubeconfigError("a client certificate needs an https:// server")

    creds = Credentials(
        token=user.get("token") or None,
        token_file=_resolve(user_base, user["tokenFile"]) if user.get("tokenFile") else None,
        username=user.get("username"),
        password=user.get("password"),
    )
    if creds.token_file is not None:
        creds.headers()  # fail now, not on the first request, when the file is unreadable
    return ClusterConfig(server=server, ssl_context=ssl_context, credentials=creds)


def load_in_cluster(sa_dir: Path = SERVICE_ACCOUNT_DIR) -> ClusterConfig:
    """The config a pod gets: KUBERNETES_SERVICE_HOST/PORT plus its service-account token and CA."""
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    port = os.environ.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        raise KubeconfigError("not running in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set")
    if ":" in host:
        host = f"[{host}]"
    token_file = sa_dir / "token"
    ca = sa_dir / "ca.crt"
    ca_pem = _read_file(ca, "service-account CA") if ca.exists() else None
    creds = Credentials(token_file=token_file)
    creds.headers()
    ns_file = sa_dir / "namespace"
    namespace = ns_file.read_text().strip() if ns_file.exists() else "default"
    return ClusterConfig(server=f"https://{host}:{port}", ssl_context=make_ssl_context(ca_pem=ca_pem),
                         credentials=creds, namespace=namespace, context_name="in-cluster")


def load_config(path: str | os.PathLike[str] | None = None, context: str | None = None) -> ClusterConfig:
    """What a component should use: an explicit or ``$KUBECONFIG`` kubeconfig, else the in-cluster
    service account when running in a pod, else ``~/.kube/config`` (client-go's order)."""
    if path or os.environ.get("KUBECONFIG"):
        return load_kubeconfig(path, context)
    if os.environ.get("KUBERNETES_SERVICE_HOST") and (SERVICE_ACCOUNT_DIR / "token").exists():
        return load_in_cluster()
    return load_kubeconfig(None, context)
