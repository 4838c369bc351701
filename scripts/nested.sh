#!/usr/bin/env bash
# The nested section: the CPUID loop at L1 and at L2 (under an L1
# hypervisor of each personality), on the Broadwell profile of the
# measurement it reproduces, and the controls at L1 vs L2. Written to
# results/nested.csv (two iteration counts, so a per-iteration figure is
# a difference, as RDTSC around the loop gives), results/nested.txt (the
# table) and results/nested-cpuid.{png,svg,pdf}. Seconds to run.
# scripts/main-job.sh runs it at its end; it also runs alone.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d build-release ]; then
	meson setup build-release -Dbuildtype=release -Dtests=false >/dev/null
fi
ninja -C build-release >/dev/null
mkdir -p results
vmm=build-release/bin/vmm
export MEMVIRT_PROFILES=$PWD/profiles
cpu=${MEMVIRT_NESTED_CPU:-broadwell}
l1=kvm-4.13,kvm-4.13+debugctl,kvm-4.13+msrmerge,kvm-4.13+shadow,kvm
{
	$vmm --cpu="$cpu" --mmu=ept --l1-mmu=none,ept --l1="$l1" --workload=cpuid \
		--param iters=10000 --quiet
	$vmm --cpu="$cpu" --mmu=ept --l1-mmu=none,ept --l1="$l1" --workload=cpuid \
		--param iters=20000 --quiet --no-header
	$vmm --cpu="$cpu" --mmu=ept --l1-mmu=none,ept --l1=kvm-4.13 \
		--workload=getppid,countprimes,fib --param iters=200000 \
		--param limit=2000000 --param n=27 --quiet --no-header
} > results/nested.csv.tmp
mv results/nested.csv.tmp results/nested.csv
python3 scripts/plot_nested.py results | tee results/nested.txt
