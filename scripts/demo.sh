#!/usr/bin/env bash
# The main job on a fresh machine: start `kyb runtime` with a pod network, put the offline busybox
# image in its store, run a pod serving a page with busybox httpd (hostPort 8080), fetch that page
# through the pod IP and through the hostPort, and leave the pod running.
#
#   bash scripts/demo.sh         # bring the demo up (again: the old demo pod is replaced)
#   bash scripts/demo.sh down    # remove the demo pod, stop the runtime, remove the pod network
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || exec sudo -E bash "$0" "$@"

kyb=.venv/bin/kyb
python=.venv/bin/python
sock=/run/kybernetes/runtime.sock
root=/var/lib/kybernetes/runtime
pod_cidr=${KYB_POD_CIDR:-10.88.0.0/24}
cluster_cidr=${KYB_CLUSTER_CIDR:-10.88.0.0/16}
pidfile=/run/kybernetes/runtime.pid
log=/var/log/kybernetes/runtime.log
archive=/var/lib/kybernetes/busybox.oci.tar
endpoint="unix://$sock"

cri() { "$kyb" cri -r "$endpoint" "$@"; }
step() { printf '\n== %s\n' "$*"; }

if [ "${1:-}" = "down" ]; then
  if cri version >/dev/null 2>&1; then
    for pod in $(cri pods -q --label app=httpd-demo); do cri stopp "$pod" >/dev/null; cri rmp "$pod" >/dev/null; done
  fi
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill "$(cat "$pidfile")"
    for _ in $(seq 50); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.2; done
  fi
  rm -f "$pidfile"
  "$python" - "$root/network" "$pod_cidr" "$cluster_cidr" <<'PY'
import sys
from pathlib import Path
from runtime.network.podnetwork import PodNetwork
PodNetwork(Path(sys.argv[1]), sys.argv[2], sys.argv[3]).teardown_node()
PY
  for cg in /sys/fs/cgroup/kyb /sys/fs/cgroup/*/kyb; do [ -d "$cg" ] && rmdir "$cg" 2>/dev/null || true; done
  echo "demo removed: pod, runtime and the kyb0 pod network are gone (images stay in $root)"
  exit 0
fi

mkdir -p /run/kybernetes /var/log/kybernetes

step "kyb runtime on $sock, pod network $pod_cidr on bridge kyb0"
if ! cri version >/dev/null 2>&1; then
  setsid "$kyb" runtime --socket "$sock" --root "$root" --pod-cidr "$pod_cidr" --cluster-cidr "$cluster_cidr" \
    --log-level info >>"$log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  for _ in $(seq 100); do cri version >/dev/null 2>&1 && break; sleep 0.2; done
fi
cri version

step "the offline busybox image (built from Debian's busybox-static)"
if ! cri inspecti busybox:latest >/dev/null 2>&1; then
  [ -f "$archive" ] || "$kyb" image build-busybox -o "$archive" --tag busybox:latest
  "$kyb" image import --root "$root" "$archive"
fi
cri images

step "a pod serving a page with busybox httpd"
for pod in $(cri pods -q --label app=httpd-demo); do cri stopp "$pod" >/dev/null; cri rmp "$pod" >/dev/null; done
pod=$(cri runp examples/httpd-pod.yaml)
ctr=$(cri create "$pod" examples/httpd-container.yaml examples/httpd-pod.yaml)
cri start "$ctr" >/dev/null
pod_ip=$(cri inspectp -o json "$pod" | "$python" -c 'import json,sys; print(json.load(sys.stdin)["status"]["network"]["ip"])')
dev=$(ip -4 route show default | awk '{for (i = 1; i < NF; i++) if ($i == "dev") {print $(i + 1); exit}}')
node_ip=$(ip -4 -o addr show dev "${dev:-kyb0}" scope global | awk '{split($4, a, "/"); print a[1]; exit}')
cri pods --label app=httpd-demo
cri ps --pod "$pod"

fetch() {
  for _ in $(seq 50); do
    if page=$("$python" -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode().strip())' "$1" 2>/dev/null); then
      printf '%s -> %s\n' "$1" "$page"
      return 0
    fi
    sleep 0.2
  done
  echo "no answer from $1; the container's log says:" >&2
  cri logs "$ctr" >&2 || true
  return 1
}
step "the page, through the pod IP and through the hostPort"
fetch "http://$pod_ip/"
fetch "http://$node_ip:8080/"

short=${ctr:0:13}
cat <<EOF

The pod keeps running. Try:
  $kyb cri pods                         # the pod sandboxes
  $kyb cri ps                           # the containers
  $kyb cri logs $short           # httpd's log (CRI log format on disk)
  $kyb cri exec -s $short ps     # a command inside the container
  bash scripts/demo.sh down                      # remove the pod, stop the runtime, remove the pod network
EOF
