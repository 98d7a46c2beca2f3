"""Reading a Docker/OCI seccomp profile: what is accepted, what is refused and how it says so,
and how ``includes``/``excludes`` narrow a profile to a node and a container's capabilities."""

from __future__ import annotations

import json

import pytest

from runtime.linux.seccomp_profile import (
    Action,
    Condition,
    Node,
    ProfileError,
    for_node,
    kernel_version,
    parse,
)


def profile_json(**fields: object) -> str:
    return json.dumps({"defaultAction": "SCMP_ACT_ALLOW", **fields})


def refused(text: str) -> str:
    with pytest.raises(ProfileError) as err:
        parse(text)
    return str(err.value)


def test_an_oci_profile_becomes_plain_data() -> None:
    profile = parse(profile_json(defaultErrnoRet=1, architectures=["SCMP_ARCH_X86_64"], flags=["SECCOMP_FILTER_FLAG_LOG"],
                                 syscalls=[{"names": ["mkdir", "chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
                                            "args": [{"index": 1, "value": 493, "op": "SCMP_CMP_EQ"}]}]))
    assert profile is not None
    assert profile.default_action == Action("SCMP_ACT_ALLOW")
    assert profile.architectures == ("SCMP_ARCH_X86_64",)
    assert profile.flag_bits == 2
    (rule,) = profile.rules
    assert rule.names == ("mkdir", "chmod")
    assert rule.action == Action("SCMP_ACT_ERRNO", 13)
    assert rule.conditions == (Condition(index=1, op="SCMP_CMP_EQ", value=493),)


def test_docker_single_name_form_is_read() -> None:
    profile = parse(profile_json(syscalls=[{"name": "sethostname", "action": "SCMP_ACT_ERRNO"}]))
    assert profile is not None and profile.rules[0].names == ("sethostname",)


def test_errno_ret_defaults_to_none_meaning_eperm_and_is_ignored_for_other_actions() -> None:
    profile = parse(profile_json(syscalls=[{"names": ["a"], "action": "SCMP_ACT_ERRNO"},
                                           {"names": ["b"], "action": "SCMP_ACT_KILL", "errnoRet": 5}]))
    assert profile is not None
    assert [rule.action.errno for rule in profile.rules] == [None, None]


def test_an_empty_profile_asks_for_no_filter() -> None:
    assert parse("{}") is None


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "not valid JSON"),
    ("[]", "must be a JSON object"),
    (json.dumps({"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}), "defaultAction: missing"),
    (profile_json(defaultAction="SCMP_ACT_DENY"), "defaultAction: unknown action 'SCMP_ACT_DENY'"),
    (profile_json(syscalls=[{"names": ["mkdir"], "action": "SCMP_ACT_EPERM"}]),
     "syscalls[0].action: unknown action 'SCMP_ACT_EPERM'"),
    (profile_json(syscalls=[{"names": ["mkdir"]}]), "syscalls[0].action: missing"),
    (profile_json(syscalls=[{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_LIKE"}]}]),
     "syscalls[0].args[0].op: unknown operator 'SCMP_CMP_LIKE'"),
    (profile_json(syscalls=[{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                             "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]),
     "syscalls[0].args[0].index: must be an integer from 0 to 5"),
    (profile_json(syscalls=[{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                             "args": [{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}]}]),
     "syscalls[0].args[0].value: must be an integer from 0 to 18446744073709551615"),
    (profile_json(syscalls=[{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 70000}]),
     "syscalls[0].errnoRet: must be an integer from 0 to 4095"),
    (profile_json(syscalls=[{"names": "mkdir", "action": "SCMP_ACT_ERRNO"}]), "syscalls[0].names: must be a list"),
    (profile_json(syscalls=[{"name": "a", "names": ["b"], "action": "SCMP_ACT_ERRNO"}]), "both 'name' and 'names'"),
    (profile_json(architectures=["SCMP_ARCH_X86_64"], archMap=[{"architecture": "SCMP_ARCH_X86_64"}]),
     "both 'architectures' and 'archMap'"),
    (profile_json(architectures=["SCMP_ARCH_Z80"]), "architectures[0]: unknown architecture 'SCMP_ARCH_Z80'"),
    (profile_json(flags=["SECCOMP_FILTER_FLAG_NEW_LISTENER"]), "flags[0]: unsupported flag"),
    (profile_json(syscalls=[{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "includes": {"minKernel": "five"}}]),
     "syscalls[0].includes.minKernel: 'five' is not a kernel version"),
])
def test_malformed_profiles_are_refused_with_the_json_path(text: str, message: str) -> None:
    assert message in refused(text)


def test_notify_is_refused_because_no_agent_listens() -> None:
    assert "SCMP_ACT_NOTIFY needs a seccomp agent" in refused(
        profile_json(syscalls=[{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]))
    assert "listenerPath" in refused(profile_json(listenerPath="/run/agent.sock"))


def test_arch_map_keeps_the_entry_for_this_node() -> None:
    profile = parse(profile_json(archMap=[
        {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
        {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
    ]))
    assert profile is not None
    assert profile.architectures == ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32")


def narrowed_names(rules: list[dict], capabilities: set[str], kernel: tuple[int, int] = (6, 1)) -> list[str]:
    profile = parse(profile_json(syscalls=rules))
    assert profile is not None
    node = Node(capabilities=frozenset(capabilities), kernel=kernel)
    return [name for rule in for_node(profile, node).rules for name in rule.names]


def test_includes_caps_keep_a_rule_only_when_every_capability_is_held() -> None:
    rules = [{"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}}]
    assert narrowed_names(rules, {"CAP_SYS_ADMIN"}) == ["mount"]
    assert narrowed_names(rules, {"CAP_CHOWN"}) == []


def test_excludes_caps_drop_a_rule_when_any_capability_is_held() -> None:
    rules = [{"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "excludes": {"caps": ["CAP_SYS_ADMIN"]}}]
    assert narrowed_names(rules, set()) == ["clone3"]
    assert narrowed_names(rules, {"CAP_SYS_ADMIN"}) == []


def test_arches_in_includes_and_excludes_use_go_names() -> None:
    rules = [{"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
             {"names": ["sync_file_range2"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["ppc64le"]}},
             {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["amd64"]}}]
    assert narrowed_names(rules, set()) == ["arch_prctl"]


def test_min_kernel_compares_major_then_minor() -> None:
    rules = [{"names": ["new"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "5.10"}},
             {"names": ["old"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "5.10"}}]
    assert narrowed_names(rules, set(), kernel=(5, 9)) == ["old"]
    assert narrowed_names(rules, set(), kernel=(5, 10)) == ["new"]
    assert narrowed_names(rules, set(), kernel=(6, 1)) == ["new"]


def test_kernel_version_reads_distribution_release_strings() -> None:
    assert kernel_version("6.1.0-18-amd64") == (6, 1)
    assert kernel_version("5.15.0") == (5, 15)
    with pytest.raises(ProfileError):
        kernel_version("unknown")
