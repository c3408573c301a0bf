#!/usr/bin/env bash
# Makes sure the server binaries the local backend runs are present: PostgreSQL and
# redis-server. As root on Debian/Ubuntu it installs them with apt-get (without starting
# their system services); otherwise it stops and names the packages to install.
set -euo pipefail

have_postgres() {
    command -v postgres >/dev/null 2>&1 && return 0
    compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null 2>&1
}
have_redis() { command -v redis-server >/dev/null 2>&1; }

missing=()
have_postgres || missing+=(postgresql)
have_redis || missing+=(redis-server)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "harness: missing system packages: ${missing[*]}" >&2
    echo "  on Debian/Ubuntu: sudo apt-get install -y ${missing[*]}" >&2
    echo "  on macOS: brew install postgresql@15 redis" >&2
    echo "  then run make again (or run it as root on Debian/Ubuntu and it installs them)" >&2
    exit 1
fi

echo "harness: installing ${missing[*]} with apt-get"
# Keep apt from starting the packages' system services: the harness runs its own servers.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    made_policy=1
fi
trap '[ "$made_policy" -eq 1 ] && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "harness: installed ${missing[*]}"
