#!/usr/bin/env bash
# Installs every build, runtime and test dependency from Debian 12 packages.
# Idempotent: when everything is present it prints one line and exits quickly.
# Also creates the unprivileged OS user that runs PostgreSQL instances when we run as root.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config clang-format
  clang libclang-rt-14-dev clang-tidy
  libpq-dev postgresql-15 postgresql-client-15
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  etcd-server etcd-client
  nlohmann-json3-dev libabsl-dev libcli11-dev libspdlog-dev libfmt-dev libasio-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  procps iproute2 util-linux
)
PG_USER="${STOLON_PG_USER:-stolon}"

missing=()
for p in "${PACKAGES[@]}"; do
  # dpkg-query is fast and needs no package lists.
  if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing Debian packages: ${missing[*]}; run this script as root (or install them) and retry" >&2
    exit 1
  fi
  echo "setup: installing ${#missing[*]} Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine has no package lists; refresh them once per install run.
  apt-get update -qq
  # policy-rc.d keeps the packages from starting Debian's default PostgreSQL/etcd services.
  had_policy=0
  [[ -e /usr/sbin/policy-rc.d ]] && had_policy=1
  if ((!had_policy)); then printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  ((had_policy)) || rm -f /usr/sbin/policy-rc.d
fi

# Debian's postgresql-common may have started the default cluster or etcd; we never use them.
if command -v pg_lsclusters >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q ' online '; then
  pg_lsclusters -h | awk '$4=="online"{print $1, $2}' | while read -r ver name; do pg_ctlcluster "$ver" "$name" stop || true; done
fi
if [[ $(id -u) -eq 0 ]] && pgrep -x etcd -u etcd >/dev/null 2>&1; then pkill -x -u etcd etcd || true; fi

# PostgreSQL refuses to run as root: instances run as an unprivileged user.
if [[ $(id -u) -eq 0 ]] && ! id -u "$PG_USER" >/dev/null 2>&1; then
  useradd --system --user-group --home-dir /nonexistent --shell /usr/sbin/nologin "$PG_USER"
fi

echo "setup: all dependencies present (${#PACKAGES[@]} packages, PostgreSQL user '${PG_USER}')"
