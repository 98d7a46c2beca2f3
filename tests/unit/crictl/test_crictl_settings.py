"""Where `kyb cri` finds its endpoints and timeout: flags, crictl's env vars, crictl's config file."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from kyb.crictl import cli
from kyb.crictl.session import UsageError
from kyb.defaults import DEFAULT_RUNTIME_ENDPOINT


def _args(**flags: object) -> argparse.Namespace:
    values = {"config": None, "runtime_endpoint": None, "image_endpoint": None, "timeout": None}
    values.update(flags)
    return argparse.Namespace(**values)


@pytest.fixture(autouse=True)
def _no_system_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(cli, "DEFAULT_CONFIG_FILE", str(tmp_path / "absent-crictl.yaml"))


def test_defaults_are_our_runtime_socket_and_ten_seconds() -> None:
    settings = cli.resolve_settings(_args(), {})
    assert settings == cli.Settings(DEFAULT_RUNTIME_ENDPOINT, None, 10.0)


def test_flags_win_over_env_and_config_file(tmp_path: Path) -> None:
    config = tmp_path / "crictl.yaml"
    config.write_text("runtime-endpoint: unix:///from/file.sock\ntimeout: 4\n")
    env = {"CONTAINER_RUNTIME_ENDPOINT": "unix:///from/env.sock", "CRI_CONFIG_FILE": str(config)}
    settings = cli.resolve_settings(_args(runtime_endpoint="unix:///from/flag.sock", timeout=2.0), env)
    assert (settings.runtime_endpoint, settings.timeout) == ("unix:///from/flag.sock", 2.0)


def test_env_wins_over_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "crictl.yaml"
    config.write_text("runtime-endpoint: unix:///from/file.sock\nimage-endpoint: unix:///img/file.sock\n")
    env = {"CONTAINER_RUNTIME_ENDPOINT": "unix:///from/env.sock", "CRI_CONFIG_FILE": str(config)}
    settings = cli.resolve_settings(_args(), env)
    assert (settings.runtime_endpoint, settings.image_endpoint) == (
        "unix:///from/env.sock",
        "unix:///img/file.sock",
    )


def test_crictl_config_file_sets_endpoint_and_timeout(tmp_path: Path) -> None:
    config = tmp_path / "crictl.yaml"
    config.write_text("runtime-endpoint: unix:///run/containerd/containerd.sock\ntimeout: 5\ndebug: false\n")
    settings = cli.resolve_settings(_args(config=str(config)), {})
    assert (settings.runtime_endpoint, settings.timeout) == ("unix:///run/containerd/containerd.sock", 5.0)


def test_a_named_config_file_that_is_missing_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not found"):
        cli.resolve_settings(_args(config=str(tmp_path / "nope.yaml")), {})


def test_a_verbs_arguments_never_shadow_the_global_settings() -> None:
    # argparse stores a subcommand's arguments in the same namespace: a verb's own "config"
    # replaced --config, and its file was then read as crictl's config file.
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    globals_ = {a.dest for a in parser._actions if not isinstance(a, argparse._SubParsersAction)}
    verbs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, verb in verbs.choices.items():
        clashing = {a.dest for a in verb._actions} & (globals_ - {"help"})
        assert not clashing, f"{name}: {clashing}"
    args = parser.parse_args(["--config", "crictl.yaml", "runp", "pod.yaml"])
    assert (args.config, args.pod_config) == ("crictl.yaml", "pod.yaml")


def test_a_crictl_config_file_that_is_not_text_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "crictl.yaml"
    config.write_bytes(b"\xff\xfe")
    with pytest.raises(UsageError, match="not UTF-8 text"):
        cli.resolve_settings(_args(config=str(config)), {})
