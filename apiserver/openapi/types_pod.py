"""core/v1 Pod and everything a pod spec contains (also used by every workload's pod template)."""

from __future__ import annotations

from apiserver.openapi.model import (
    CORE,
    DEFINITIONS,
    META,
    arr,
    b,
    define,
    free,
    i32,
    i64,
    obj,
    resource,
    s,
    strmap,
)

define(CORE + "PodTemplateSpec", "The pod a workload creates: metadata plus a pod spec.", {
    "metadata": obj(META + "ObjectMeta", "Metadata for created pods; its labels must match the selector."),
    "spec": obj(CORE + "PodSpec", "Desired behaviour of created pods."),
})

define(CORE + "PodSpec", "The desired state of a pod: its containers, volumes and scheduling constraints.", {
    "containers": arr(CORE + "Container", "The containers of the pod; at least one. Cannot be added or removed "
                                          "after creation.", merge_key="name", strategy="merge",
                      list_type="map", list_map_keys=("name",)),
    "initContainers": arr(CORE + "Container", "Containers run to completion, in order, before the regular "
                                              "containers start. An init container with restartPolicy Always "
                                              "is a sidecar that keeps running.", merge_key="name",
                          strategy="merge", list_type="map", list_map_keys=("name",)),
    "ephemeralContainers": arr(CORE + "EphemeralContainer", "Debugging containers added to a running pod through the "
                                                   "ephemeralcontainers subresource.", merge_key="name",
                               strategy="merge", list_type="map", list_map_keys=("name",)),
    "volumes": arr(CORE + "Volume", "Volumes that containers of the pod can mount.", merge_key="name",
                   strategy="merge,retainKeys", list_type="map", list_map_keys=("name",)),
    "restartPolicy": s("When containers are restarted after they exit: Always (default), OnFailure or Never.",
                       enum=("Always", "Never", "OnFailure")),
    "terminationGracePeriodSeconds": i64("Seconds between the TERM signal and the KILL signal when the pod "
                                         "is deleted. Defaults to 30."),
    "activeDeadlineSeconds": i64("Seconds the pod may be active before the kubelet fails it."),
    "dnsPolicy": s("How the pod's DNS is configured: ClusterFirst (default), ClusterFirstWithHostNet, Default "
                   "or None.", enum=("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")),
    "dnsConfig": free("Extra DNS settings (nameservers, searches, options) merged into the generated "
                      "resolv.conf."),
    "nodeSelector": strmap("Labels a node must have for the pod to be scheduled there."),
    "serviceAccountName": s("Name of the ServiceAccount the pod runs as."),
    "serviceAccount": s("Deprecated alias of serviceAccountName."),
    "automountServiceAccountToken": b("Whether the service account token is mounted automatically."),
    "nodeName": s("The node the pod is bound to. Set by the scheduler through the binding subresource; a pod "
                  "created with it set skips scheduling."),
    "hostNetwork": b("Use the node's network namespace. Container ports are then node ports."),
    "hostPID": b("Use the node's PID namespace."),
    "hostIPC": b("Use the node's IPC namespace."),
    "shareProcessNamespace": b("Share one PID namespace among all containers of the pod."),
    "securityContext": obj(CORE + "PodSecurityContext", "Pod-wide security settings."),
    "imagePullSecrets": arr(CORE + "LocalObjectReference", "Secrets with registry credentials used to pull "
                                                           "the images.", merge_key="name", strategy="merge"),
    "hostname": s("The pod's hostname; defaults to the pod name."),
    "subdomain": s("With a headless service of this name, the pod gets the DNS name "
                   "<hostname>.<subdomain>.<namespace>.svc."),
    "affinity": free("Node and pod (anti-)affinity scheduling constraints."),
    "schedulerName": s("The scheduler that places this pod; defaults to default-scheduler."),
    "tolerations": arr(CORE + "Toleration", "Taints this pod tolerates.", list_type="atomic"),
    "hostAliases": arr(CORE + "HostAlias", "Extra entries for the pod's /etc/hosts.", merge_key="ip",
                       strategy="merge"),
    "priorityClassName": s("Name of the PriorityClass that sets the pod's priority."),
    "priority": i32("The pod's priority, filled in from priorityClassName by admission."),
    "preemptionPolicy": s("Whether this pod may preempt lower-priority pods: PreemptLowerPriority or Never."),
    "readinessGates": arr(CORE + "PodReadinessGate", "Extra conditions that must be true for the pod to be "
                                                     "ready.", list_type="atomic"),
    "runtimeClassName": s("RuntimeClass used to run the pod."),
    "enableServiceLinks": b("Inject environment variables describing services into the containers; defaults "
                            "to true."),
    "topologySpreadConstraints": arr(CORE + "TopologySpreadConstraint", "How pods spread across topology "
                                                                        "domains such as zones and nodes.",
                                     merge_key="topologyKey", strategy="merge", list_type="map",
                                     list_map_keys=("topologyKey", "whenUnsatisfiable")),
    "overhead": obj("quantity", "Resources the pod's sandbox consumes on top of its containers.", map=True),
    "setHostnameAsFQDN": b("Set the hostname to the fully qualified domain name."),
    "os": free("The operating system the pod's containers need."),
    "hostUsers": b("Use the host's user namespace; false requests a new user namespace."),
    "schedulingGates": arr(CORE + "LocalObjectReference", "While non-empty, the pod stays unscheduled.",
                           merge_key="name", strategy="merge", list_type="map", list_map_keys=("name",)),
    "resourceClaims": arr("object", "Dynamic resource claims the pod uses (name plus a claim or template).",
                          merge_key="name", strategy="merge,retainKeys", list_type="map", list_map_keys=("name",)),
    "resources": obj(CORE + "ResourceRequirements", "Pod-level resource requests and limits shared by all "
                                                    "containers."),
}, required=("containers",))

define(CORE + "Container", "One container of a pod.", {
    "name": s("Name of the container, a DNS label unique within the pod. Cannot be updated."),
    "image": s("Container image reference, such as \"nginx:1.25\" or \"registry.example.com/app@sha256:...\"."),
    "command": arr("string", "Entrypoint array, replacing the image's ENTRYPOINT; $(VAR) references to the "
                             "container's environment are expanded.", list_type="atomic"),
    "args": arr("string", "Arguments to the entrypoint, replacing the image's CMD; $(VAR) references are "
                          "expanded.", list_type="atomic"),
    "workingDir": s("Working directory; defaults to the image's."),
    "ports": arr(CORE + "ContainerPort", "Ports the container listens on. Informational, except for "
                                         "hostPort and named ports that services refer to.",
                 merge_key="containerPort", strategy="merge", list_type="map",
                 list_map_keys=("containerPort", "protocol")),
    "envFrom": arr(CORE + "EnvFromSource", "Sources (ConfigMaps, Secrets) whose keys all become environment "
                                           "variables.", list_type="atomic"),
    "env": arr(CORE + "EnvVar", "Environment variables to set in the container.", merge_key="name",
               strategy="merge", list_type="map", list_map_keys=("name",)),
    "resources": obj(CORE + "ResourceRequirements", "Compute resources requested and limited for this "
                                                    "container."),
    "resizePolicy": arr(CORE + "ContainerResizePolicy", "How the container reacts to resource resizes.",
                        list_type="atomic"),
    "restartPolicy": s("Only for init containers: Always makes it a sidecar that keeps running alongside "
                       "the regular containers."),
    "volumeMounts": arr(CORE + "VolumeMount", "Pod volumes to mount into the container's filesystem.",
                        merge_key="mountPath", strategy="merge", list_type="map", list_map_keys=("mountPath",)),
    "volumeDevices": arr(CORE + "VolumeDevice", "Block devices to expose to the container.",
                         merge_key="devicePath", strategy="merge", list_type="map",
                         list_map_keys=("devicePath",)),
    "livenessProbe": obj(CORE + "Probe", "Periodic check of container liveness; the container is restarted "
                                         "when it fails."),
    "readinessProbe": obj(CORE + "Probe", "Periodic check of readiness; a failing container is removed from "
                                          "service endpoints."),
    "startupProbe": obj(CORE + "Probe", "Check that must succeed before the other probes start."),
    "lifecycle": obj(CORE + "Lifecycle", "Actions the kubelet runs after start and before stop."),
    "terminationMessagePath": s("File whose contents become the container's termination message; defaults "
                                "to /dev/termination-log."),
    "terminationMessagePolicy": s("File (default) or FallbackToLogsOnError, which uses the log tail when "
                                  "the file is empty.", enum=("FallbackToLogsOnError", "File")),
    "imagePullPolicy": s("Always, Never or IfNotPresent. Defaults to Always for the :latest tag or no tag, "
                         "else IfNotPresent.", enum=("Always", "IfNotPresent", "Never")),
    "securityContext": obj(CORE + "SecurityContext", "Security settings for this container; they override "
                                                     "the pod's."),
    "stdin": b("Allocate a stdin buffer for the container."),
    "stdinOnce": b("Close stdin after the first attach session ends."),
    "tty": b("Allocate a TTY; requires stdin."),
}, required=("name",))

define(CORE + "ContainerPort", "A network port of a container.", {
    "name": s("An IANA_SVC_NAME, unique within the pod, that services can refer to."),
    "containerPort": i32("Port number on the pod's IP, 1-65535."),
    "hostPort": i32("Port number on the node to forward to containerPort; rarely needed."),
    "protocol": s("UDP, TCP (default) or SCTP.", enum=("SCTP", "TCP", "UDP")),
    "hostIP": s("Node IP to bind the host port on."),
}, required=("containerPort",))

define(CORE + "EnvVar", "An environment variable.", {
    "name": s("Name of the variable."),
    "value": s("Value, with $(VAR) references to earlier variables expanded. Defaults to \"\"."),
    "valueFrom": obj(CORE + "EnvVarSource", "Where to read the value from; not allowed with a non-empty "
                                            "value."),
}, required=("name",))

define(CORE + "EnvVarSource", "A source for an environment variable's value.", {
    "fieldRef": free("A field of the pod, such as metadata.name, metadata.namespace, status.podIP or "
                     "spec.nodeName."),
    "resourceFieldRef": free("A resource limit or request of a container, such as limits.cpu."),
    "configMapKeyRef": free("A key of a ConfigMap (name, key, optional)."),
    "secretKeyRef": free("A key of a Secret (name, key, optional)."),
})

define(CORE + "EnvFromSource", "Import all keys of a ConfigMap or Secret as variables.", {
    "prefix": s("Prefix added to each variable name."),
    "configMapRef": free("The ConfigMap to read (name, optional)."),
    "secretRef": free("The Secret to read (name, optional)."),
})

define(CORE + "ResourceRequirements", "Compute resource requests and limits.", {
    "limits": obj("quantity", "Maximum amounts allowed, such as cpu: 500m, memory: 128Mi.", map=True),
    "requests": obj("quantity", "Amounts reserved for scheduling; default to the limits when omitted.", map=True),
    "claims": arr("object", "Resource claims of the pod this container uses, by name.", list_type="map",
                  list_map_keys=("name",)),
})

define(CORE + "ContainerResizePolicy", "Resize behaviour for one resource.", {
    "resourceName": s("cpu or memory."),
    "restartPolicy": s("NotRequired or RestartContainer."),
}, required=("resourceName", "restartPolicy"))

define(CORE + "VolumeMount", "A mount of a pod volume into a container.", {
    "name": s("Name of the pod volume."),
    "mountPath": s("Path inside the container; must not contain ':'."),
    "subPath": s("Sub-path within the volume to mount instead of its root."),
    "subPathExpr": s("Like subPath, with $(VAR) references to the container's environment expanded."),
    "readOnly": b("Mount read-only."),
    "mountPropagation": s("None, HostToContainer or Bidirectional."),
    "recursiveReadOnly": s("Whether a read-only mount is recursively read-only."),
}, required=("name", "mountPath"))

define(CORE + "VolumeDevice", "A raw block volume exposed as a device.", {
    "name": s("Name of a persistentVolumeClaim volume of the pod."),
    "devicePath": s("Path of the device inside the container."),
}, required=("name", "devicePath"))

define(CORE + "Volume", "A named volume of a pod. Exactly one source field must be set.", {
    "name": s("Name of the volume, a DNS label unique within the pod."),
    "emptyDir": obj(CORE + "EmptyDirVolumeSource", "A directory that starts empty and lives as long as the pod."),
    "hostPath": obj(CORE + "HostPathVolumeSource", "A file or directory of the node's filesystem."),
    "configMap": obj(CORE + "ConfigMapVolumeSource", "The keys of a ConfigMap as files."),
    "secret": obj(CORE + "SecretVolumeSource", "The keys of a Secret as files."),
    "persistentVolumeClaim": obj(CORE + "PersistentVolumeClaimVolumeSource", "A PersistentVolumeClaim in the "
                                                                              "pod's namespace."),
    "projected": free("Several sources (secrets, configMaps, downwardAPI, serviceAccountToken) projected into "
                      "one directory."),
    "downwardAPI": free("Pod fields and container resources as files."),
    "nfs": free("An NFS export."),
    "csi": free("A volume provided by a CSI driver."),
    "ephemeral": free("A volume backed by a claim created for and deleted with the pod."),
    "image": free("The contents of an OCI image, mounted read-only."),
    **{source: free(f"A {source} volume; see the Kubernetes API reference.") for source in (
        "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "iscsi", "glusterfs", "rbd", "flexVolume",
        "cinder", "cephfs", "flocker", "fc", "azureFile", "vsphereVolume", "quobyte", "azureDisk",
        "photonPersistentDisk", "portworxVolume", "scaleIO", "storageos")},
}, required=("name",))

define(CORE + "EmptyDirVolumeSource", "An initially empty directory.", {
    "medium": s("Storage medium: \"\" (node default) or Memory (tmpfs)."),
    "sizeLimit": obj("quantity", "Maximum size of the volume."),
})
define(CORE + "HostPathVolumeSource", "A path on the node.", {
    "path": s("Path on the node; a symlink is followed."),
    "type": s("Expected type of the path: \"\", DirectoryOrCreate, Directory, FileOrCreate, File, Socket, "
              "CharDevice or BlockDevice."),
}, required=("path",))
define(CORE + "ConfigMapVolumeSource", "A ConfigMap's keys as files.", {
    "name": s("Name of the ConfigMap."),
    "items": arr(CORE + "KeyToPath", "Which keys to project and where; all keys when empty.", list_type="atomic"),
    "defaultMode": i32("Mode bits of the created files; defaults to 0644."),
    "optional": b("Whether the ConfigMap may be missing."),
})
define(CORE + "SecretVolumeSource", "A Secret's keys as files.", {
    "secretName": s("Name of the Secret."),
    "items": arr(CORE + "KeyToPath", "Which keys to project and where; all keys when empty.", list_type="atomic"),
    "defaultMode": i32("Mode bits of the created files; defaults to 0644."),
    "optional": b("Whether the Secret may be missing."),
})
define(CORE + "KeyToPath", "One key projected to a relative path.", {
    "key": s("The key."),
    "path": s("Relative file path; may not contain '..'."),
    "mode": i32("Mode bits of this file."),
}, required=("key", "path"))
define(CORE + "PersistentVolumeClaimVolumeSource", "A reference to a claim.", {
    "claimName": s("Name of the PersistentVolumeClaim."),
    "readOnly": b("Mount read-only."),
}, required=("claimName",))

define(CORE + "Probe", "A health check the kubelet performs; exactly one handler must be set.", {
    "exec": obj(CORE + "ExecAction", "Run a command in the container; exit status 0 is success."),
    "httpGet": obj(CORE + "HTTPGetAction", "An HTTP GET; a status of 200-399 is success."),
    "tcpSocket": obj(CORE + "TCPSocketAction", "Open a TCP connection; success when it connects."),
    "grpc": free("A gRPC health check (port, service)."),
    "initialDelaySeconds": i32("Seconds after container start before the first probe."),
    "timeoutSeconds": i32("Seconds after which a probe times out. Defaults to 1."),
    "periodSeconds": i32("Seconds between probes. Defaults to 10."),
    "successThreshold": i32("Consecutive successes needed after a failure. Defaults to 1; must be 1 for "
                            "liveness and startup probes."),
    "failureThreshold": i32("Consecutive failures after which the probe counts as failed. Defaults to 3."),
    "terminationGracePeriodSeconds": i64("Grace period used when a failed probe kills the container."),
})
define(CORE + "ExecAction", "A command to run.", {
    "command": arr("string", "The command line; not run in a shell.", list_type="atomic"),
})
define(CORE + "HTTPGetAction", "An HTTP GET request.", {
    "path": s("Path to request."),
    "port": obj("int-or-string", "Port number or container port name."),
    "host": s("Host to connect to; defaults to the pod IP."),
    "scheme": s("HTTP (default) or HTTPS."),
    "httpHeaders": arr("object", "Extra request headers, each a name and value.", list_type="atomic"),
}, required=("port",))
define(CORE + "TCPSocketAction", "A TCP connection attempt.", {
    "port": obj("int-or-string", "Port number or container port name."),
    "host": s("Host to connect to; defaults to the pod IP."),
}, required=("port",))
define(CORE + "Lifecycle", "Hooks run at container start and stop.", {
    "postStart": free("Handler run right after the container is created."),
    "preStop": free("Handler run before the container is stopped."),
    "stopSignal": s("Signal sent to stop the container."),
})
define(CORE + "PodSecurityContext", "Pod-level security attributes.", {
    "runAsUser": i64("UID the container processes run as."),
    "runAsGroup": i64("GID the container processes run as."),
    "runAsNonRoot": b("Refuse to start containers that would run as UID 0."),
    "fsGroup": i64("Supplemental group that owns the pod's volumes."),
    "supplementalGroups": arr("int64", "Extra groups for the first process of each container.",
                              list_type="atomic"),
    "sysctls": arr("object", "Namespaced sysctls (name, value) to set for the pod.", list_type="atomic"),
    "seccompProfile": free("Seccomp profile for all containers."),
    "seLinuxOptions": free("SELinux context for all containers."),
    "windowsOptions": free("Windows-specific settings."),
    "appArmorProfile": free("AppArmor profile for all containers."),
    "supplementalGroupsPolicy": s("Merge (default) or Strict: how supplementalGroups combine with the image's."),
    "fsGroupChangePolicy": s("OnRootMismatch or Always: when volume ownership is changed to fsGroup."),
    "seLinuxChangePolicy": s("How the SELinux label is applied to volumes: MountOption or Recursive."),
})
define(CORE + "SecurityContext", "Container-level security attributes.", {
    "privileged": b("Run as privileged: all capabilities and host devices."),
    "runAsUser": i64("UID the process runs as."),
    "runAsGroup": i64("GID the process runs as."),
    "runAsNonRoot": b("Refuse to start if the process would run as UID 0."),
    "readOnlyRootFilesystem": b("Mount the root filesystem read-only."),
    "allowPrivilegeEscalation": b("Whether the process may gain more privileges than its parent."),
    "capabilities": free("Capabilities to add and drop."),
    "seccompProfile": free("Seccomp profile of the container."),
    "procMount": s("Default or Unmasked /proc."),
    "seLinuxOptions": free("SELinux context of the container."),
    "windowsOptions": free("Windows-specific settings."),
    "appArmorProfile": free("AppArmor profile of the container."),
})
define(CORE + "Toleration", "Allows scheduling onto nodes with a matching taint.", {
    "key": s("Taint key to match; empty with operator Exists matches every taint."),
    "operator": s("Exists or Equal (default).", enum=("Equal", "Exists")),
    "value": s("Taint value to match with Equal."),
    "effect": s("Taint effect to match; empty matches all effects.",
                enum=("NoExecute", "NoSchedule", "PreferNoSchedule")),
    "tolerationSeconds": i64("With NoExecute, how long the pod stays bound after the taint appears."),
})
define(CORE + "HostAlias", "An /etc/hosts entry.", {
    "ip": s("IP address."),
    "hostnames": arr("string", "Hostnames for the IP.", list_type="atomic"),
}, required=("ip",))
define(CORE + "PodReadinessGate", "An extra readiness condition.", {
    "conditionType": s("Condition type in the pod's status.conditions."),
}, required=("conditionType",))
define(CORE + "TopologySpreadConstraint", "How matching pods spread over a topology.", {
    "maxSkew": i32("Maximum permitted difference in matching pods between domains."),
    "topologyKey": s("Node label key defining the domains."),
    "whenUnsatisfiable": s("DoNotSchedule or ScheduleAnyway."),
    "labelSelector": obj(META + "LabelSelector", "Which pods count."),
    "minDomains": i32("Minimum number of eligible domains."),
    "nodeAffinityPolicy": s("Honor or Ignore: whether node affinity limits the domains counted."),
    "nodeTaintsPolicy": s("Honor or Ignore: whether node taints limit the domains counted."),
    "matchLabelKeys": arr("string", "Pod label keys whose values are added to the selector.", list_type="atomic"),
}, required=("maxSkew", "topologyKey", "whenUnsatisfiable"))
define(CORE + "LocalObjectReference", "A reference to an object in the same namespace by name.", {
    "name": s("Name of the referent."),
})

define(CORE + "PodStatus", "The observed state of a pod, written by the kubelet.", {
    "phase": s("Pending, Running, Succeeded, Failed or Unknown: a summary of where the pod is in its "
               "lifecycle.", enum=("Failed", "Pending", "Running", "Succeeded", "Unknown")),
    "conditions": arr(CORE + "PodCondition", "Current service state: PodScheduled, Initialized, "
                                             "ContainersReady, Ready.", merge_key="type", strategy="merge",
                      list_type="map", list_map_keys=("type",)),
    "message": s("Human-readable detail about why the pod is in this condition."),
    "reason": s("Brief CamelCase reason, such as Evicted."),
    "nominatedNodeName": s("Node where the pod may be placed after preemption."),
    "hostIP": s("IP of the node the pod runs on."),
    "hostIPs": arr(CORE + "HostIP", "IPs of the node.", merge_key="ip", strategy="merge", list_type="atomic"),
    "podIP": s("IP address of the pod."),
    "podIPs": arr(CORE + "PodIP", "IP addresses of the pod.", merge_key="ip", strategy="merge",
                  list_type="map", list_map_keys=("ip",)),
    "startTime": obj("time", "When the kubelet acknowledged the pod."),
    "initContainerStatuses": arr(CORE + "ContainerStatus", "Status of the init containers.", list_type="atomic"),
    "containerStatuses": arr(CORE + "ContainerStatus", "Status of the containers.", list_type="atomic"),
    "ephemeralContainerStatuses": arr(CORE + "ContainerStatus", "Status of ephemeral containers.",
                                      list_type="atomic"),
    "qosClass": s("Quality of service class from the resource requirements: Guaranteed, Burstable or "
                  "BestEffort.", enum=("BestEffort", "Burstable", "Guaranteed")),
    "resize": s("Status of a requested in-place resource resize."),
    "resourceClaimStatuses": arr("object", "Generated names of the pod's resource claims.", merge_key="name",
                                 strategy="merge,retainKeys", list_type="map", list_map_keys=("name",)),
    "observedGeneration": i64("The pod generation this status reflects."),
})
define(CORE + "PodCondition", "One condition of a pod.", {
    "type": s("PodScheduled, Initialized, ContainersReady, Ready or a readiness gate."),
    "status": s("True, False or Unknown."),
    "lastProbeTime": obj("time", "When the condition was last probed."),
    "lastTransitionTime": obj("time", "When the status last changed."),
    "reason": s("CamelCase reason for the last transition."),
    "message": s("Human-readable details."),
    "observedGeneration": i64("The pod generation the condition was set for."),
}, required=("type", "status"))
define(CORE + "PodIP", "An IP of a pod.", {"ip": s("The IP address.")}, required=("ip",))
define(CORE + "HostIP", "An IP of a node.", {"ip": s("The IP address.")}, required=("ip",))
define(CORE + "ContainerStatus", "The observed state of one container.", {
    "name": s("Container name."),
    "state": free("Current state: exactly one of waiting, running or terminated."),
    "lastState": free("The previous termination, if the container restarted."),
    "ready": b("Whether the container passes its readiness probe."),
    "started": b("Whether the container has started and passed its startup probe."),
    "restartCount": i32("Number of restarts."),
    "image": s("The image the container runs."),
    "imageID": s("Image ID (digest) of the running image."),
    "containerID": s("<runtime>://<id> of the container."),
    "allocatedResources": obj("quantity", "Resources allocated to the container.", map=True),
    "resources": obj(CORE + "ResourceRequirements", "Resources currently applied to the container."),
    "volumeMounts": arr("object", "Mounts as the runtime reports them.", list_type="atomic"),
    "user": free("Identities of the container's first process."),
    "allocatedResourcesStatus": arr("object", "Health of allocated resources.", list_type="map",
                                    list_map_keys=("name",)),
    "stopSignal": s("The signal that stops the container."),
}, required=("name", "ready", "restartCount", "image", "imageID"))

resource(CORE + "Pod", "", "v1", "Pod",
         "A group of containers that share network and storage and are scheduled onto one node together; "
         "the smallest unit Kubernetes runs.",
         spec=CORE + "PodSpec", spec_desc="The desired behaviour of the pod.",
         status=CORE + "PodStatus", status_desc="The most recently observed status of the pod; read-only for "
                                                "clients, written by the kubelet.")

define(CORE + "EphemeralContainer", "A temporary container added to a running pod for debugging; it has the "
                                    "fields of a container but no ports, probes or resources.", {
    **DEFINITIONS[CORE + "Container"].properties,
    "targetContainerName": s("Name of the container whose namespaces (process, IPC) this one joins."),
}, required=("name",))
