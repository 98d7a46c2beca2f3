"""`port-forward` port specs: crictl's [LOCAL_PORT:]REMOTE_PORT."""

from __future__ import annotations

import pytest

from kyb.crictl.port_forward import parse_port_pairs
from kyb.crictl.session import UsageError


def test_remote_only_listens_on_the_same_port() -> None:
    assert parse_port_pairs(["8080"]) == [(8080, 8080)]


def test_local_and_remote_pairs_and_any_free_local_port() -> None:
    assert parse_port_pairs(["9000:80", "0:443", ":53"]) == [(9000, 80), (0, 443), (0, 53)]


@pytest.mark.parametrize("spec", ["http", "80:http", "0", "70000", "1:0", "-1:80"])
def test_bad_specs_are_usage_errors(spec: str) -> None:
    with pytest.raises(UsageError):
        parse_port_pairs([spec])
