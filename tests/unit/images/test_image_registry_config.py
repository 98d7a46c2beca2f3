"""The registry configuration file: mirrors, plain-HTTP hosts, credentials."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from runtime.images.registry_config import (
    AuthConfig,
    Endpoint,
    RegistryConfigError,
    load_registry_config,
    parse_registry_config,
)


def test_mirrors_come_first_then_the_upstream_host() -> None:
    config = parse_registry_config(
        '[registries."docker.io"]\nmirrors = ["http://127.0.0.1:5000", "https://mirror.example"]\n'
    )
    assert config.endpoints("docker.io") == [
        Endpoint("http", "127.0.0.1:5000", is_mirror=True),
        Endpoint("https", "mirror.example", is_mirror=True),
        Endpoint("https", "registry-1.docker.io"),
    ]


def test_skip_upstream_leaves_only_the_mirrors() -> None:
    config = parse_registry_config('[registries."registry.k8s.io"]\nmirrors = ["http://m:1"]\nskip_upstream = true\n')
    assert config.endpoints("registry.k8s.io") == [Endpoint("http", "m:1", is_mirror=True)]


def test_insecure_hosts_and_loopback_hosts_speak_plain_http() -> None:
    config = parse_registry_config('[registries."lab:5000"]\ninsecure = true\n[registries."localhost:6000"]\ninsecure = false\n')
    assert config.endpoints("lab:5000") == [Endpoint("http", "lab:5000")]
    assert config.endpoints("127.0.0.1:7000") == [Endpoint("http", "127.0.0.1:7000")]
    assert config.endpoints("localhost:6000") == [Endpoint("https", "localhost:6000")]
    assert config.endpoints("quay.io") == [Endpoint("https", "quay.io")]


def test_credentials_come_from_username_password_or_the_auth_field() -> None:
    assert AuthConfig(username="u", password="p").basic() == ("u", "p")
    assert AuthConfig(auth=base64.b64encode(b"u2:p:2").decode()).basic() == ("u2", "p:2")
    assert AuthConfig().basic() is None
    config = parse_registry_config('[registries."lab"]\nusername = "x"\npassword = "y"\n')
    assert config.host("lab").auth.basic() == ("x", "y")


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("[registries", "not valid TOML"),
        ('[mirrors."docker.io"]\n', "unknown top-level"),
        ('[registries."docker.io"]\nmirror = ["http://x"]\n', "unknown keys"),
        ('[registries."docker.io"]\nmirrors = ["ftp://x"]\n', "http://host"),
        ('[registries."docker.io"]\ninsecure = "yes"\n', "true or false"),
    ],
)
def test_mistakes_in_the_file_are_reported(text: str, complaint: str) -> None:
    with pytest.raises(RegistryConfigError, match=complaint):
        parse_registry_config(text)


def test_a_missing_file_is_an_error_and_no_file_means_defaults(tmp_path: Path) -> None:
    with pytest.raises(RegistryConfigError, match="cannot read"):
        load_registry_config(tmp_path / "nope.toml")
    assert load_registry_config(None).endpoints("docker.io") == [Endpoint("https", "registry-1.docker.io")]


def test_auth_challenges_are_parsed_into_scheme_and_parameters() -> None:
    from runtime.images.registry import parse_challenge

    assert parse_challenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"') == (
        "bearer",
        {"realm": "https://auth.docker.io/token", "service": "registry.docker.io", "scope": "repository:library/busybox:pull"},
    )
    assert parse_challenge('Basic realm="Registry Realm"') == ("basic", {"realm": "Registry Realm"})
