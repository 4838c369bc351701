#!/usr/bin/env bash
# Install what memvirt needs from Debian's packages, only when missing.
# Idempotent; silent when everything is already there.
#   scripts/setup.sh          build and test dependencies
#   scripts/setup.sh --fuzz   those and clang/libFuzzer for scripts/fuzz.sh
set -euo pipefail

pkgs=(meson ninja-build pkg-config gcc libc6-dev libcriterion-dev libnuma-dev
      libhugetlbfs-dev linux-libc-dev gnuplot-nox python3
      help2man parallel bash-completion)

# --fuzz: also what scripts/fuzz.sh needs (clang with libFuzzer).
if [ "${1:-}" = "--fuzz" ]; then
	pkgs+=(clang libclang-rt-dev)
fi

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
