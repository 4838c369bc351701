#!/usr/bin/env bash
# Engine speed, printed as figures (never a pass/fail test: these machines
# are shared and noisy). Compare ratios measured in one run.
#   hit path:  memsweep at 2M pages, every access an L1 TLB hit
#   miss path: memsweep at 4K pages, every other access walks
# for each MMU, with and without the memory model.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d build-release ]; then
	meson setup build-release -Dbuildtype=release -Dtests=false >/dev/null
fi
ninja -C build-release >/dev/null
size=${BENCH_SIZE:-16m}
passes=${BENCH_PASSES:-4}
printf '%-8s %-6s %-11s %14s %10s %14s\n' mmu pages cache_model accesses wall_s "accesses/s"
for cm in 1 0; do
	MEMVIRT_PROFILES=$PWD/profiles build-release/bin/vmm --jobs=1 --quiet \
		--mmu=native,shadow,ept --pages=2m,4k --param size="$size" \
		--param passes="$passes" --param cache_model="$cm" |
	python3 -c '
import csv, sys
for r in csv.DictReader(sys.stdin):
    a, w = int(r["accesses"]), float(r["wall_s"])
    print("%-8s %-6s %-11s %14d %10.2f %14.3g" % (r["mmu"], r["pages"], r["cache_model"],
          a, w, a / w if w else 0))'
done
