#!/usr/bin/env bash
# The main job: the classic comparison at full size, written to results/.
#   forkwait and memsweep (and the getppid, countprimes, fib controls)
#   x native, shadow, ept x 4K, 2M pages x two CPU profiles,
# then the plots. Deterministic: a second run differs only in wall_s.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d build-release ]; then
	meson setup build-release -Dbuildtype=release -Dtests=false >/dev/null
fi
ninja -C build-release >/dev/null
mkdir -p results
cpus=${MEMVIRT_CPUS:-phenom2-n620,skylake}
workloads=${MEMVIRT_WORKLOADS:-forkwait,memsweep,getppid,countprimes,fib}
echo "main job: $workloads x native,shadow,ept x 4k,2m on $cpus" >&2
start=$(date +%s)
MEMVIRT_PROFILES=$PWD/profiles build-release/bin/vmm --cpu="$cpus" \
	--mmu=native,shadow,ept --pages=4k,2m --workload="$workloads" "$@" \
	> results/memvirt.csv.tmp 2> results/report.txt
mv results/memvirt.csv.tmp results/memvirt.csv
python3 scripts/plots.py results
echo "main job: done in $(( $(date +%s) - start )) s; results/memvirt.csv, results/*.{png,svg,pdf}, results/report.txt" >&2
# The nested section (issue 15): the CPUID loop at L1 and L2 per L1
# personality, and the controls at both levels (results/nested.*).
scripts/nested.sh >/dev/null
echo "main job: nested section in results/nested.txt, results/nested-cpuid.{png,svg,pdf}" >&2
