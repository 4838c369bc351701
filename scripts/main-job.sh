#!/usr/bin/env bash
# The main job: the classic comparison at full size, written to results/.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d build ]; then meson setup build -Dbuildtype=release >/dev/null; fi
ninja -C build >/dev/null
mkdir -p results
vmm=build/bin/vmm
for cpu in phenom2-n620 skylake; do
	echo "main job: memsweep on $cpu" >&2
	$vmm --cpu=$cpu --mmu=native --pages=4k,2m --workload=memsweep \
		> results/memsweep-$cpu.csv
done
echo "main job: results in results/" >&2
