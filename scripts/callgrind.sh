#!/usr/bin/env bash
# Instructions (Ir) per guest access of one cell under callgrind: total Ir
# of the run divided by the CSV's accesses column. Deterministic, so it
# measures hot-path changes on a shared, noisy machine.
#   scripts/callgrind.sh [vmm args...]
#     default cell: --mmu=native --pages=2m --workload=memsweep
#                   --param size=4m --param passes=2 --cpu=skylake
#   scripts/callgrind.sh --grid   the baseline grid: native,shadow,ept x
#     2m,4k x skylake,phenom2-n620 (memsweep, size=4m, passes=2)
# BUILD=dir picks the build (default build-release, configured if missing);
# VMM=path runs that vmm binary instead (nothing built).
# KEEP=dir keeps the callgrind.out files there (for callgrind_annotate).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build-release}
vmm=${VMM:-}
if [ -z "$vmm" ]; then
	if [ ! -d "$build" ]; then
		meson setup "$build" -Dbuildtype=release -Dtests=false >/dev/null
	fi
	ninja -C "$build" >/dev/null
	vmm=$build/bin/vmm
fi
export MEMVIRT_PROFILES=$PWD/profiles
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

one() {	# one cell: prints "cpu mmu pages accesses Ir Ir/access"
	local out=$tmp/cg.out csv=$tmp/cell.csv
	valgrind --tool=callgrind --callgrind-out-file="$out" \
		"$vmm" --jobs=1 --quiet "$@" > "$csv" 2> "$tmp/vg.err" ||
		{ cat "$tmp/vg.err" >&2; return 1; }
	local ir
	ir=$(sed -n 's/^summary: *//p' "$out")
	python3 - "$csv" "$ir" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
ir = int(sys.argv[2]); r = rows[0]
a = int(r["accesses"])
print("%-14s %-7s %-4s %10d %14d %9.1f" % (r.get("cpu", "?"), r["mmu"], r["pages"], a, ir, ir / a))
PY
	if [ -n "${KEEP:-}" ]; then
		mkdir -p "$KEEP"
		cp "$out" "$KEEP/callgrind.out.$(echo "$*" | tr -c 'A-Za-z0-9=,.-' _)"
	fi
}

printf '%-14s %-7s %-4s %10s %14s %9s\n' cpu mmu pages accesses Ir Ir/access
cell=(--workload=memsweep --param size=4m --param passes=2)
if [ "${1:-}" = --grid ]; then
	for cpu in skylake phenom2-n620; do
		for mmu in native shadow ept; do
			for pages in 2m 4k; do
				one "${cell[@]}" --cpu=$cpu --mmu=$mmu --pages=$pages
			done
		done
	done
elif [ $# -gt 0 ]; then
	one "$@"
else
	one "${cell[@]}" --cpu=skylake --mmu=native --pages=2m
fi
