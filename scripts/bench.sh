#!/usr/bin/env bash
# Engine speed, printed as figures (never a pass/fail test: these machines
# are shared and noisy). Compare ratios measured in one run.
#   hit path:  memsweep at 2M pages, every access an L1 TLB hit
#   miss path: memsweep at 4K pages, every other access walks
# for each MMU, with and without the memory model.
#   BENCH_BASE=<git rev> also builds that revision (in a temporary
#   directory, release build) and runs it cell by cell beside this tree,
#   printing its accesses/s and the ratio this/base from the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d build-release ]; then
	meson setup build-release -Dbuildtype=release -Dtests=false >/dev/null
fi
ninja -C build-release >/dev/null
size=${BENCH_SIZE:-16m}
passes=${BENCH_PASSES:-4}
base=${BENCH_BASE:-}
basevmm=
if [ -n "$base" ]; then
	rev=$(git rev-parse --short "$base^{commit}")
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	git archive "$rev" | tar -x -C "$tmp"
	meson setup -Dbuildtype=release -Dtests=false "$tmp/build" "$tmp" >/dev/null
	ninja -C "$tmp/build" >/dev/null
	basevmm=$tmp/build/bin/vmm
fi
export MEMVIRT_PROFILES=$PWD/profiles
run() {	# vmm binary, cache_model: one CSV of the six cells
	"$1" --jobs=1 --quiet --mmu=native,shadow,ept --pages=2m,4k \
		--param size="$size" --param passes="$passes" --param cache_model="$2"
}
if [ -z "$base" ]; then
	printf '%-8s %-6s %-11s %14s %10s %14s\n' mmu pages cache_model accesses wall_s "accesses/s"
else
	printf '%-8s %-6s %-11s %14s %10s %14s %14s %7s\n' mmu pages cache_model accesses \
		wall_s "accesses/s" "base acc/s" ratio
fi
for cm in 1 0; do
	run build-release/bin/vmm "$cm" > "${tmp:-/tmp}/bench.cur.$$"
	if [ -n "$base" ]; then
		run "$basevmm" "$cm" > "$tmp/bench.base"
	fi
	python3 - "${tmp:-/tmp}/bench.cur.$$" ${base:+"$tmp/bench.base"} <<'PY'
import csv, sys
cur = list(csv.DictReader(open(sys.argv[1])))
base = list(csv.DictReader(open(sys.argv[2]))) if len(sys.argv) > 2 else None
def rate(r):
    a, w = int(r["accesses"]), float(r["wall_s"])
    return a / w if w else 0
for i, r in enumerate(cur):
    line = "%-8s %-6s %-11s %14d %10.2f %14.3g" % (r["mmu"], r["pages"], r["cache_model"],
           int(r["accesses"]), float(r["wall_s"]), rate(r))
    if base is not None:
        b = base[i]
        assert (b["mmu"], b["pages"], b["accesses"]) == (r["mmu"], r["pages"], r["accesses"]), \
            "base and current disagree on %s/%s" % (r["mmu"], r["pages"])
        line += " %14.3g %6.2fx" % (rate(b), rate(r) / rate(b) if rate(b) else 0)
    print(line)
PY
	rm -f "${tmp:-/tmp}/bench.cur.$$"
done
