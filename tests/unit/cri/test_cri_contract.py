"""cri/api.proto matches the upstream Kubernetes CRI v1 contract.

The expected values below are the upstream facts (k8s.io/cri-api/pkg/apis/runtime/v1/api.proto,
as of Kubernetes 1.33/1.34), written out by hand as the specification. They are deliberately not
derived from our own proto: a renumbered field or a renamed RPC must fail here.
"""

from __future__ import annotations

import pytest
from google.protobuf.descriptor import FieldDescriptor

from cri import api_pb2

UPSTREAM_RUNTIME_SERVICE_RPCS = [
    "Version",
    "RunPodSandbox",
    "StopPodSandbox",
    "RemovePodSandbox",
    "PodSandboxStatus",
    "ListPodSandbox",
    "CreateContainer",
    "StartContainer",
    "StopContainer",
    "RemoveContainer",
    "ListContainers",
    "ContainerStatus",
    "UpdateContainerResources",
    "ReopenContainerLog",
    "ExecSync",
    "Exec",
    "Attach",
    "PortForward",
    "ContainerStats",
    "ListContainerStats",
    "PodSandboxStats",
    "ListPodSandboxStats",
    "UpdateRuntimeConfig",
    "Status",
    "CheckpointContainer",
    "GetContainerEvents",
    "ListMetricDescriptors",
    "ListPodSandboxMetrics",
    "RuntimeConfig",
    "UpdatePodSandboxResources",
]

UPSTREAM_IMAGE_SERVICE_RPCS = ["ListImages", "ImageStatus", "PullImage", "RemoveImage", "ImageFsInfo"]

# (service, rpc) -> (request message, response message, server streams)
UPSTREAM_RPC_SIGNATURES = {
    ("RuntimeService", "Version"): ("VersionRequest", "VersionResponse", False),
    ("RuntimeService", "RunPodSandbox"): ("RunPodSandboxRequest", "RunPodSandboxResponse", False),
    ("RuntimeService", "ListPodSandbox"): ("ListPodSandboxRequest", "ListPodSandboxResponse", False),
    ("RuntimeService", "ExecSync"): ("ExecSyncRequest", "ExecSyncResponse", False),
    ("RuntimeService", "ContainerStats"): ("ContainerStatsRequest", "ContainerStatsResponse", False),
    ("RuntimeService", "GetContainerEvents"): ("GetEventsRequest", "ContainerEventResponse", True),
    ("RuntimeService", "RuntimeConfig"): ("RuntimeConfigRequest", "RuntimeConfigResponse", False),
    ("RuntimeService", "UpdatePodSandboxResources"): (
        "UpdatePodSandboxResourcesRequest",
        "UpdatePodSandboxResourcesResponse",
        False,
    ),
    ("ImageService", "PullImage"): ("PullImageRequest", "PullImageResponse", False),
    ("ImageService", "ImageFsInfo"): ("ImageFsInfoRequest", "ImageFsInfoResponse", False),
}

P = "runtime.v1."

# message, field, number, type as written in the proto
UPSTREAM_FIELDS = [
    ("VersionResponse", "runtime_name", 2, "string"),
    ("VersionResponse", "runtime_api_version", 4, "string"),
    ("PodSandboxConfig", "metadata", 1, P + "PodSandboxMetadata"),
    ("PodSandboxConfig", "hostname", 2, "string"),
    ("PodSandboxConfig", "log_directory", 3, "string"),
    ("PodSandboxConfig", "dns_config", 4, P + "DNSConfig"),
    ("PodSandboxConfig", "port_mappings", 5, "repeated " + P + "PortMapping"),
    ("PodSandboxConfig", "labels", 6, "map<string, string>"),
    ("PodSandboxConfig", "annotations", 7, "map<string, string>"),
    ("PodSandboxConfig", "linux", 8, P + "LinuxPodSandboxConfig"),
    ("PodSandboxConfig", "windows", 9, P + "WindowsPodSandboxConfig"),
    ("PodSandboxMetadata", "attempt", 4, "uint32"),
    ("RunPodSandboxRequest", "runtime_handler", 2, "string"),
    ("LinuxPodSandboxConfig", "resources", 5, P + "LinuxContainerResources"),
    ("LinuxSandboxSecurityContext", "run_as_group", 8, P + "Int64Value"),
    ("LinuxSandboxSecurityContext", "supplemental_groups_policy", 11, P + "SupplementalGroupsPolicy"),
    ("LinuxSandboxSecurityContext", "seccomp_profile_path", 7, "string"),
    ("PodSandboxStatus", "state", 3, P + "PodSandboxState"),
    ("PodSandboxStatus", "runtime_handler", 9, "string"),
    ("PodSandboxStatusResponse", "containers_statuses", 3, "repeated " + P + "ContainerStatus"),
    ("Namespace", "options", 2, P + "NamespaceOption"),
    ("NamespaceOption", "userns_options", 5, P + "UserNamespace"),
    ("Mount", "uidMappings", 6, "repeated " + P + "IDMapping"),
    ("Mount", "recursive_read_only", 8, "bool"),
    ("Mount", "image", 9, P + "ImageSpec"),
    ("Mount", "image_sub_path", 10, "string"),
    ("ImageSpec", "user_specified_image", 18, "string"),
    ("ImageSpec", "runtime_handler", 19, "string"),
    ("ContainerConfig", "metadata", 1, P + "ContainerMetadata"),
    ("ContainerConfig", "image", 2, P + "ImageSpec"),
    ("ContainerConfig", "command", 3, "repeated string"),
    ("ContainerConfig", "args", 4, "repeated string"),
    ("ContainerConfig", "envs", 6, "repeated " + P + "KeyValue"),
    ("ContainerConfig", "log_path", 11, "string"),
    ("ContainerConfig", "tty", 14, "bool"),
    ("ContainerConfig", "linux", 15, P + "LinuxContainerConfig"),
    ("ContainerConfig", "CDI_devices", 17, "repeated " + P + "CDIDevice"),
    ("ContainerConfig", "stop_signal", 18, P + "Signal"),
    ("LinuxContainerResources", "oom_score_adj", 5, "int64"),
    ("LinuxContainerResources", "unified", 9, "map<string, string>"),
    ("LinuxContainerResources", "memory_swap_limit_in_bytes", 10, "int64"),
    ("LinuxContainerSecurityContext", "capabilities", 1, P + "Capability"),
    ("LinuxContainerSecurityContext", "privileged", 2, "bool"),
    ("LinuxContainerSecurityContext", "namespace_options", 3, P + "NamespaceOption"),
    ("LinuxContainerSecurityContext", "run_as_user", 5, P + "Int64Value"),
    ("LinuxContainerSecurityContext", "run_as_username", 6, "string"),
    ("LinuxContainerSecurityContext", "readonly_rootfs", 7, "bool"),
    ("LinuxContainerSecurityContext", "no_new_privs", 11, "bool"),
    ("LinuxContainerSecurityContext", "run_as_group", 12, P + "Int64Value"),
    ("LinuxContainerSecurityContext", "masked_paths", 13, "repeated string"),
    ("LinuxContainerSecurityContext", "seccomp", 15, P + "SecurityProfile"),
    ("LinuxContainerSecurityContext", "supplemental_groups_policy", 17, P + "SupplementalGroupsPolicy"),
    ("ContainerStatus", "state", 3, P + "ContainerState"),
    ("ContainerStatus", "started_at", 5, "int64"),
    ("ContainerStatus", "finished_at", 6, "int64"),
    ("ContainerStatus", "exit_code", 7, "int32"),
    ("ContainerStatus", "reason", 10, "string"),
    ("ContainerStatus", "log_path", 15, "string"),
    ("ContainerStatus", "resources", 16, P + "ContainerResources"),
    ("ContainerStatus", "image_id", 17, "string"),
    ("ContainerStatus", "user", 18, P + "ContainerUser"),
    ("Container", "image_ref", 5, "string"),
    ("Container", "image_id", 10, "string"),
    ("ExecSyncRequest", "container_id", 1, "string"),
    ("ExecSyncRequest", "cmd", 2, "repeated string"),
    ("ExecSyncRequest", "timeout", 3, "int64"),
    ("ExecSyncResponse", "stdout", 1, "bytes"),
    ("ExecSyncResponse", "exit_code", 3, "int32"),
    ("StopContainerRequest", "timeout", 2, "int64"),
    ("PullImageRequest", "image", 1, P + "ImageSpec"),
    ("PullImageRequest", "auth", 2, P + "AuthConfig"),
    ("PullImageRequest", "sandbox_config", 3, P + "PodSandboxConfig"),
    ("PullImageResponse", "image_ref", 1, "string"),
    ("AuthConfig", "registry_token", 6, "string"),
    ("Image", "size", 4, "uint64"),
    ("Image", "uid", 5, P + "Int64Value"),
    ("Image", "pinned", 8, "bool"),
    ("StatusResponse", "runtime_handlers", 3, "repeated " + P + "RuntimeHandler"),
    ("StatusResponse", "features", 4, P + "RuntimeFeatures"),
    ("RuntimeHandlerFeatures", "user_namespaces", 2, "bool"),
    ("ImageFsInfoResponse", "container_filesystems", 2, "repeated " + P + "FilesystemUsage"),
    ("FilesystemUsage", "inodes_used", 4, P + "UInt64Value"),
    ("ContainerStats", "swap", 5, P + "SwapUsage"),
    ("MemoryUsage", "major_page_faults", 7, P + "UInt64Value"),
    ("ContainerEventResponse", "containers_statuses", 5, "repeated " + P + "ContainerStatus"),
    ("CheckpointContainerRequest", "timeout", 3, "int64"),
    ("Metric", "metric_type", 3, P + "MetricType"),
    ("LinuxRuntimeConfiguration", "cgroup_driver", 1, P + "CgroupDriver"),
    ("WindowsContainerResources", "affinity_cpus", 6, "repeated " + P + "WindowsCpuGroupAffinity"),
    ("UpdatePodSandboxResourcesRequest", "overhead", 2, P + "LinuxContainerResources"),
]

UPSTREAM_ENUMS = {
    "PodSandboxState": {"SANDBOX_READY": 0, "SANDBOX_NOTREADY": 1},
    "ContainerState": {
        "CONTAINER_CREATED": 0,
        "CONTAINER_RUNNING": 1,
        "CONTAINER_EXITED": 2,
        "CONTAINER_UNKNOWN": 3,
    },
    "NamespaceMode": {"POD": 0, "CONTAINER": 1, "NODE": 2, "TARGET": 3},
    "Protocol": {"TCP": 0, "UDP": 1, "SCTP": 2},
    "MountPropagation": {
        "PROPAGATION_PRIVATE": 0,
        "PROPAGATION_HOST_TO_CONTAINER": 1,
        "PROPAGATION_BIDIRECTIONAL": 2,
    },
    "SupplementalGroupsPolicy": {"Merge": 0, "Strict": 1},
    "ContainerEventType": {
        "CONTAINER_CREATED_EVENT": 0,
        "CONTAINER_STARTED_EVENT": 1,
        "CONTAINER_STOPPED_EVENT": 2,
        "CONTAINER_DELETED_EVENT": 3,
    },
    "MetricType": {"COUNTER": 0, "GAUGE": 1},
    "CgroupDriver": {"SYSTEMD": 0, "CGROUPFS": 1},
}

_SCALARS = {
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_BYTES: "bytes",
    FieldDescriptor.TYPE_BOOL: "bool",
    FieldDescriptor.TYPE_INT32: "int32",
    FieldDescriptor.TYPE_INT64: "int64",
    FieldDescriptor.TYPE_UINT32: "uint32",
    FieldDescriptor.TYPE_UINT64: "uint64",
}


def _proto_type(field: FieldDescriptor) -> str:
    """Render a field's type the way it is written in a .proto file."""
    message = field.message_type
    if message is not None and message.GetOptions().map_entry:
        key, value = (_proto_type(message.fields_by_name[name]) for name in ("key", "value"))
        return f"map<{key}, {value}>"
    if message is not None:
        base = message.full_name
    elif field.enum_type is not None:
        base = field.enum_type.full_name
    else:
        base = _SCALARS[field.type]
    return f"repeated {base}" if field.is_repeated else base


def _rpc_names(service: str) -> list[str]:
    return [method.name for method in api_pb2.DESCRIPTOR.services_by_name[service].methods]


def test_package_is_runtime_v1() -> None:
    assert api_pb2.DESCRIPTOR.package == "runtime.v1"


def test_proto_declares_exactly_the_two_cri_services() -> None:
    assert sorted(api_pb2.DESCRIPTOR.services_by_name) == ["ImageService", "RuntimeService"]


def test_runtime_service_has_the_upstream_rpcs_in_order() -> None:
    assert _rpc_names("RuntimeService") == UPSTREAM_RUNTIME_SERVICE_RPCS


def test_image_service_has_the_upstream_rpcs_in_order() -> None:
    assert _rpc_names("ImageService") == UPSTREAM_IMAGE_SERVICE_RPCS


@pytest.mark.parametrize(("service", "rpc"), sorted(UPSTREAM_RPC_SIGNATURES))
def test_rpc_has_upstream_request_response_and_streaming(service: str, rpc: str) -> None:
    method = api_pb2.DESCRIPTOR.services_by_name[service].methods_by_name[rpc]
    request, response, server_streaming = UPSTREAM_RPC_SIGNATURES[(service, rpc)]
    assert method.input_type.full_name == P + request
    assert method.output_type.full_name == P + response
    assert method.server_streaming is server_streaming
    assert method.client_streaming is False


def test_only_get_container_events_streams() -> None:
    streaming = [
        method.name
        for service in api_pb2.DESCRIPTOR.services_by_name.values()
        for method in service.methods
        if method.server_streaming or method.client_streaming
    ]
    assert streaming == ["GetContainerEvents"]


@pytest.mark.parametrize(("message", "field", "number", "proto_type"), UPSTREAM_FIELDS)
def test_field_has_upstream_number_and_type(message: str, field: str, number: int, proto_type: str) -> None:
    descriptor = api_pb2.DESCRIPTOR.message_types_by_name[message].fields_by_name[field]
    assert (descriptor.number, _proto_type(descriptor)) == (number, proto_type)


@pytest.mark.parametrize("enum", sorted(UPSTREAM_ENUMS))
def test_enum_has_exactly_the_upstream_values(enum: str) -> None:
    descriptor = api_pb2.DESCRIPTOR.enum_types_by_name[enum]
    assert {value.name: value.number for value in descriptor.values} == UPSTREAM_ENUMS[enum]


def test_security_profile_type_is_nested_with_upstream_values() -> None:
    profile_type = api_pb2.SecurityProfile.DESCRIPTOR.enum_types_by_name["ProfileType"]
    values = {value.name: value.number for value in profile_type.values}
    assert values == {"RuntimeDefault": 0, "Unconfined": 1, "Localhost": 2}


def test_signal_enum_covers_runtime_default_through_sigrtmax() -> None:
    signal = api_pb2.DESCRIPTOR.enum_types_by_name["Signal"]
    values = {value.name: value.number for value in signal.values}
    assert len(values) == 66
    assert (values["RUNTIME_DEFAULT"], values["SIGKILL"], values["SIGTERM"]) == (0, 13, 23)
    assert (values["SIGRTMIN"], values["SIGRTMIN_PLUS_15"], values["SIGRTMAX"]) == (35, 50, 65)


def test_deprecated_profile_paths_stay_marked_deprecated() -> None:
    context = api_pb2.LinuxContainerSecurityContext.DESCRIPTOR.fields_by_name
    assert context["apparmor_profile"].GetOptions().deprecated
    assert context["seccomp_profile_path"].GetOptions().deprecated


def test_messages_round_trip_through_the_wire_format() -> None:
    config = api_pb2.PodSandboxConfig(
        metadata=api_pb2.PodSandboxMetadata(name="web", uid="u1", namespace="default", attempt=2),
        hostname="web",
        port_mappings=[api_pb2.PortMapping(protocol=api_pb2.SCTP, container_port=80, host_port=8080)],
        labels={"app": "web"},
    )
    decoded = api_pb2.PodSandboxConfig.FromString(config.SerializeToString())
    assert decoded == config
    assert decoded.port_mappings[0].protocol == api_pb2.SCTP
