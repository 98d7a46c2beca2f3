#!/usr/bin/env bash
# The main job on a fresh machine: start `kyb runtime` in the background on its default socket
# and show what it answers over the CRI. It stays running; `kill $(cat /run/kybernetes/runtime.pid)`
# stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || exec sudo -E bash "$0" "$@"

sock=/run/kybernetes/runtime.sock
mkdir -p /run/kybernetes /var/log/kybernetes

ask_version() {
  .venv/bin/python - "$sock" "$1" <<'PY'
import sys, time
import grpc
from cri import api_pb2, api_pb2_grpc
sock, wait = sys.argv[1], float(sys.argv[2])
deadline = time.monotonic() + wait
with grpc.insecure_channel(f"unix://{sock}") as channel:
    stub = api_pb2_grpc.RuntimeServiceStub(channel)
    while True:
        try:
            v = stub.Version(api_pb2.VersionRequest(), timeout=2)
            s = stub.Status(api_pb2.StatusRequest(), timeout=2)
            break
        except grpc.RpcError as e:
            if time.monotonic() > deadline:
                sys.exit(f"no CRI runtime answers on {sock}: {e.code().name}")
            time.sleep(0.2)
print(f"RuntimeName:       {v.runtime_name}\nRuntimeVersion:    {v.runtime_version}\nRuntimeApiVersion: {v.runtime_api_version}")
for c in s.status.conditions:
    print(f"{c.type + ':':<19}{c.status}" + (f" ({c.reason}: {c.message})" if c.reason else ""))
PY
}

if ! ask_version 0 >/dev/null 2>&1; then
  echo "starting kyb runtime on $sock (log: /var/log/kybernetes/runtime.log)"
  setsid .venv/bin/kyb runtime --socket "$sock" --log-level info >>/var/log/kybernetes/runtime.log 2>&1 < /dev/null &
  echo $! > /run/kybernetes/runtime.pid
fi
ask_version 20
echo
echo "kyb runtime keeps running (pid $(cat /run/kybernetes/runtime.pid 2>/dev/null || echo '?'))."
echo "Stop it with: kill \$(cat /run/kybernetes/runtime.pid)"
