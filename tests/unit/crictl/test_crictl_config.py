"""crictl-style pod and container config files: both field spellings, crictl's checks, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kyb.crictl.config import ConfigError, load_container_config, load_pod_config


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_pod_config_json_with_proto_field_names(tmp_path: Path) -> None:
    doc = {
        "metadata": {"name": "web", "namespace": "default", "uid": "u-1", "attempt": 2},
        "log_directory": "/var/log/pods/web",
        "linux": {"cgroup_parent": "/kyb", "security_context": {"namespace_options": {"pid": 0}}},
        "port_mappings": [{"container_port": 80, "host_port": 8080}],
    }
    config = load_pod_config(_write(tmp_path, "pod.json", json.dumps(doc)))
    assert config.metadata.name == "web" and config.metadata.attempt == 2
    assert config.log_directory == "/var/log/pods/web"
    assert config.linux.cgroup_parent == "/kyb"
    assert config.port_mappings[0].host_port == 8080


def test_pod_config_accepts_lower_camel_case_names(tmp_path: Path) -> None:
    doc = {"metadata": {"name": "web", "namespace": "default", "uid": "u"}, "logDirectory": "/logs"}
    assert load_pod_config(_write(tmp_path, "pod.json", json.dumps(doc))).log_directory == "/logs"


def test_pod_config_yaml(tmp_path: Path) -> None:
    text = "metadata:\n  name: web\n  namespace: default\n  uid: u\nhostname: web-0\nlabels:\n  app: web\n"
    config = load_pod_config(_write(tmp_path, "pod.yaml", text))
    assert config.hostname == "web-0" and dict(config.labels) == {"app": "web"}


def test_pod_without_uid_gets_a_random_one(tmp_path: Path) -> None:
    path = _write(tmp_path, "pod.json", json.dumps({"metadata": {"name": "a", "namespace": "b"}}))
    first, second = load_pod_config(path).metadata.uid, load_pod_config(path).metadata.uid
    assert first and second and first != second


def test_unknown_field_is_skipped_with_a_warning_naming_it(tmp_path: Path) -> None:
    doc = {"metadata": {"name": "a", "namespace": "b"}, "linux": {"cgroup_prent": "/x", "cgroup_parent": "/y"}}
    warnings: list[str] = []
    config = load_pod_config(_write(tmp_path, "pod.json", json.dumps(doc)), warn=warnings.append)
    assert config.linux.cgroup_parent == "/y"
    assert len(warnings) == 1
    assert "linux.cgroup_prent" in warnings[0] and "pod.json" in warnings[0] and "\n" not in warnings[0]


def test_unknown_fields_inside_lists_are_named_with_their_index(tmp_path: Path) -> None:
    doc = {"metadata": {"name": "c"}, "image": {"image": "busybox"},
           "mounts": [{"container_path": "/a", "host_path": "/tmp"}, {"container_path": "/b", "readonly": True, "mode": "ro"}],
           "envs": [{"key": "A", "value": "1"}], "annotations": {"k": "v"}}
    warnings: list[str] = []
    config = load_container_config(_write(tmp_path, "c.json", json.dumps(doc)), warn=warnings.append)
    assert [m.container_path for m in config.mounts] == ["/a", "/b"] and config.mounts[1].readonly
    assert dict(config.annotations) == {"k": "v"}
    assert len(warnings) == 1 and "mounts[1].mode" in warnings[0]


def test_a_map_key_is_never_taken_for_an_unknown_field(tmp_path: Path) -> None:
    doc = {"metadata": {"name": "a", "namespace": "b"}, "labels": {"not-a-field": "x"}, "annotations": {"y": "z"}}
    warnings: list[str] = []
    config = load_pod_config(_write(tmp_path, "pod.json", json.dumps(doc)), warn=warnings.append)
    assert dict(config.labels) == {"not-a-field": "x"} and warnings == []


def test_unknown_field_warnings_go_to_stderr_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = {"metadata": {"name": "a", "namespace": "b"}, "extra": 1}
    load_pod_config(_write(tmp_path, "pod.json", json.dumps(doc)))
    captured = capsys.readouterr()
    assert captured.out == "" and "warning" in captured.err and "'extra'" in captured.err


def test_an_enum_name_that_does_not_exist_is_still_an_error(tmp_path: Path) -> None:
    doc = {"metadata": {"name": "a", "namespace": "b"},
           "linux": {"security_context": {"namespace_options": {"pid": "CONTAINR"}}}}
    with pytest.raises(ConfigError, match="CONTAINR"):
        load_pod_config(_write(tmp_path, "pod.json", json.dumps(doc)), warn=lambda _: None)


def test_wrong_type_is_an_error_naming_the_field(tmp_path: Path) -> None:
    doc = {"metadata": {"name": "a", "namespace": "b", "attempt": "many"}}
    with pytest.raises(ConfigError, match="attempt"):
        load_pod_config(_write(tmp_path, "pod.json", json.dumps(doc)))


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ({"hostname": "x"}, "metadata is not set"),
        ({"metadata": {"name": "a"}}, "name and namespace"),
        ({"metadata": {"namespace": "a"}}, "name and namespace"),
    ],
)
def test_pod_config_needs_metadata_with_name_and_namespace(tmp_path: Path, doc: dict, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_pod_config(_write(tmp_path, "pod.json", json.dumps(doc)))


def test_container_config_sets_user_specified_image(tmp_path: Path) -> None:
    doc = {"metadata": {"name": "c"}, "image": {"image": "busybox"}, "command": ["sh"], "log_path": "c.log"}
    config = load_container_config(_write(tmp_path, "c.json", json.dumps(doc)))
    assert config.image.user_specified_image == "busybox"
    assert list(config.command) == ["sh"] and config.log_path == "c.log"


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ({"image": {"image": "busybox"}}, "metadata is not set"),
        ({"metadata": {"attempt": 1}, "image": {"image": "busybox"}}, "metadata.name"),
        ({"metadata": {"name": "c"}}, "image.image"),
        ({"metadata": {"name": "c"}, "image": {}}, "image.image"),
    ],
)
def test_container_config_needs_a_name_and_an_image(tmp_path: Path, doc: dict, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_container_config(_write(tmp_path, "c.json", json.dumps(doc)))


def test_missing_file_says_not_found(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_pod_config(str(tmp_path / "nope.json"))


def test_broken_yaml_says_where(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not valid JSON or YAML at line \d+, column \d+"):
        load_pod_config(_write(tmp_path, "pod.yaml", "metadata:\n  name: [unclosed\n"))


def test_a_binary_file_is_refused_as_not_text(tmp_path: Path) -> None:
    path = tmp_path / "pod.yaml"
    path.write_bytes(b"\xff\xfe\x00metadata")
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_pod_config(str(path))


def test_a_list_document_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="object"):
        load_pod_config(_write(tmp_path, "pod.json", "[1, 2]"))


def test_the_examples_from_crictls_documentation_load(tmp_path: Path) -> None:
    pod = {
        "metadata": {
            "name": "nginx-sandbox",
            "namespace": "default",
            "attempt": 1,
            "uid": "hdishd83djaidwnduwk28bcsb",
        },
        "log_directory": "/tmp",
        "linux": {},
    }
    container = {
        "metadata": {"name": "busybox"},
        "image": {"image": "busybox"},
        "command": ["top"],
        "log_path": "busybox.0.log",
        "linux": {},
    }
    pod_config = load_pod_config(_write(tmp_path, "pod-config.json", json.dumps(pod)))
    container_config = load_container_config(_write(tmp_path, "container-config.json", json.dumps(container)))
    assert pod_config.metadata.uid == "hdishd83djaidwnduwk28bcsb" and pod_config.HasField("linux")
    assert list(container_config.command) == ["top"] and container_config.log_path == "busybox.0.log"
