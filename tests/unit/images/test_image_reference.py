"""Image names normalize the way Docker and containerd normalize them."""

from __future__ import annotations

import pytest

from runtime.images.errors import InvalidReference
from runtime.images.reference import parse_reference

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("given", "normalized"),
    [
        ("busybox", "docker.io/library/busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36"),
        ("user/app", "docker.io/user/app:latest"),
        ("index.docker.io/library/busybox", "docker.io/library/busybox:latest"),
        ("registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9"),
        ("localhost/app", "localhost/app:latest"),
        ("127.0.0.1:5000/team/app:v1", "127.0.0.1:5000/team/app:v1"),
        (f"busybox@{DIGEST}", f"docker.io/library/busybox@{DIGEST}"),
        (f"busybox:1.36@{DIGEST}", f"docker.io/library/busybox:1.36@{DIGEST}"),
    ],
)
def test_names_expand_to_their_full_form(given: str, normalized: str) -> None:
    assert str(parse_reference(given)) == normalized


def test_familiar_form_is_what_docker_save_writes() -> None:
    assert parse_reference("docker.io/library/busybox:latest").familiar() == "busybox:latest"
    assert parse_reference("quay.io/a/b:1").familiar() == "quay.io/a/b:1"


@pytest.mark.parametrize(
    ("given", "complaint"),
    [
        ("", "empty"),
        ("Busybox", "lowercase"),
        ("busybox:bad tag", "tag"),
        ("busybox@sha256:123", "digest"),
        ("bad_host!/x", "repository"),
    ],
)
def test_invalid_names_are_refused_with_the_reason(given: str, complaint: str) -> None:
    with pytest.raises(InvalidReference, match=complaint):
        parse_reference(given)
