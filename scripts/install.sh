#!/usr/bin/env bash
# Installs what kybernetes needs on a Debian/Ubuntu machine, and nothing that is already there:
# the Debian packages, a virtualenv in .venv, and the package itself (editable, with its test
# extra). Safe to run again: when nothing is missing it only checks, which takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  exec sudo -E bash "$0" "$@"
fi

# Debian packages: the kernel tools the runtime and its tests use, the offline busybox, and the
# real peers the tests and benchmarks run against (registry, skopeo, etcd, runc/crun/containerd),
# and apparmor_parser, which loads the runtime's default AppArmor profile where the kernel has AppArmor.
packages=(
  iptables iproute2 util-linux procps psmisc openssl busybox-static
  docker-registry skopeo etcd-server etcd-client
  runc crun containerd containernetworking-plugins
  apparmor
)
command -v kubectl >/dev/null 2>&1 || packages+=(kubernetes-client)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || packages+=(python3-venv)
python3 -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
  || packages+=(python3-dev)
command -v gcc >/dev/null 2>&1 || packages+=(gcc)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's containerd and etcd packages start system services; the project runs its own
# private instances and never needs those.
for svc in containerd etcd docker-registry; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  fi
done

if [ ! -x .venv/bin/python ]; then
  echo "creating .venv"
  python3 -m venv .venv
fi
stamp=.venv/.kybernetes-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "installing kybernetes into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]'
  touch "$stamp"
fi
