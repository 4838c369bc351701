#!/usr/bin/env bash
# The main job's memsweep and forkwait cells, sampled with functional
# warming of the caches (--sample-warming=caches, docs/sampling.md),
# compared cell by cell with the exact grid (results/memvirt-exact.csv,
# made by MEMVIRT_SAMPLE=off scripts/main-job.sh):
#   results/memvirt-warm.csv, results/sample-check-warm.txt
# About 4 minutes on 2 cores. A figure for the docs, not part of the
# main job (whose 3-minute budget the slower fast-forward would break).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d build-release ]; then
	meson setup build-release -Dbuildtype=release -Dtests=false >/dev/null
fi
ninja -C build-release >/dev/null
[ -f results/memvirt-exact.csv ] || {
	echo "warm-check: results/memvirt-exact.csv is missing (MEMVIRT_SAMPLE=off scripts/main-job.sh)" >&2
	exit 2
}
cpus=${MEMVIRT_CPUS:-phenom2-n620,skylake}
MEMVIRT_PROFILES=$PWD/profiles build-release/bin/vmm --cpu="$cpus" \
	--mmu=native,shadow,ept --pages=4k,2m --workload=forkwait,memsweep \
	--sample=on --sample-warming=caches --quiet "$@" > results/memvirt-warm.csv.tmp
mv results/memvirt-warm.csv.tmp results/memvirt-warm.csv
status=0
python3 scripts/sample-check.py results/memvirt-exact.csv results/memvirt-warm.csv \
	> results/sample-check-warm.txt || status=$?
cat results/sample-check-warm.txt
exit "$status"
