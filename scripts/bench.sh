#!/usr/bin/env bash
# Engine speed, printed as figures (never a pass/fail test: these machines
# are shared and noisy). Compare ratios measured in one run.
#   hit path:  memsweep at 2M pages, every access an L1 TLB hit
#   miss path: memsweep at 4K pages, every other access walks
# for each MMU, with and without the memory model.
#   The same loop, compiled and run natively on this host at 4K and 2M
#   pages (scripts/calibrate/loops.c), is timed in the same run: "slower"
#   is how many times the simulation's accesses/s falls short of the
#   native loop's (memsweep 4K cells against the 4K loop, 2M against 2M).
#   BENCH_BASE=<git rev> also builds that revision (in a temporary
#   directory, release build) and runs it cell by cell beside this tree,
#   printing its accesses/s and the ratio this/base from the same run
#   (each with its own profiles/).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d build-release ]; then
	meson setup build-release -Dbuildtype=release -Dtests=false >/dev/null
fi
ninja -C build-release >/dev/null
cc -O2 -o build-release/bench-loops scripts/calibrate/loops.c
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
bytes() { numfmt --from=iec "${1^^}"; }
nat_iters=$(( $(bytes "$size") * passes ))
native() {	# pages: the native loop's accesses/s (two accesses per iteration)
	build-release/bench-loops memsweep "$(bytes "$size")" "$1" "$nat_iters" |
		awk '/^memsweep_ns_per_iter/ { printf "%.6g\n", 2e9 / $2 }'
}
nat4k=$(native 4k)
nat2m=$(native 2m)
printf 'native loop (memsweep %s x %s passes, this host): 4k %.3g accesses/s, 2m %.3g accesses/s\n' \
	"$size" "$passes" "$nat4k" "$nat2m"
export NAT4K=$nat4k NAT2M=$nat2m
run() {	# vmm binary, cache_model[, profiles]: one CSV of the six cells
	MEMVIRT_PROFILES=${3:-$MEMVIRT_PROFILES} "$1" --jobs=1 --quiet --mmu=native,shadow,ept --pages=2m,4k \
		--param size="$size" --param passes="$passes" --param cache_model="$2"
}
if [ -z "$base" ]; then
	printf '%-8s %-6s %-11s %14s %10s %14s %8s\n' mmu pages cache_model accesses wall_s \
		"accesses/s" slower
else
	printf '%-8s %-6s %-11s %14s %10s %14s %8s %14s %8s %7s\n' mmu pages cache_model accesses \
		wall_s "accesses/s" slower "base acc/s" "b.slower" ratio
fi
for cm in 1 0; do
	run build-release/bin/vmm "$cm" > "${tmp:-/tmp}/bench.cur.$$"
	if [ -n "$base" ]; then
		run "$basevmm" "$cm" "$tmp/profiles" > "$tmp/bench.base"
	fi
	python3 - "${tmp:-/tmp}/bench.cur.$$" ${base:+"$tmp/bench.base"} <<'PY'
import csv, os, sys
nat = {"4k": float(os.environ["NAT4K"]), "2m": float(os.environ["NAT2M"])}
cur = list(csv.DictReader(open(sys.argv[1])))
base = list(csv.DictReader(open(sys.argv[2]))) if len(sys.argv) > 2 else None
def rate(r):
    a, w = int(r["accesses"]), float(r["wall_s"])
    return a / w if w else 0
for i, r in enumerate(cur):
    slower = lambda x: "%7.1fx" % (nat[r["pages"]] / rate(x)) if rate(x) else "      -"
    line = "%-8s %-6s %-11s %14d %10.2f %14.3g %s" % (r["mmu"], r["pages"], r["cache_model"],
           int(r["accesses"]), float(r["wall_s"]), rate(r), slower(r))
    if base is not None:
        b = base[i]
        # the guest may do more work at this revision (kernel accesses):
        # rates per access compare, the counts need not be equal
        assert (b["mmu"], b["pages"]) == (r["mmu"], r["pages"]), \
            "base and current disagree on %s/%s" % (r["mmu"], r["pages"])
        line += " %14.3g %s %6.2fx" % (rate(b), slower(b), rate(r) / rate(b) if rate(b) else 0)
    print(line)
PY
	rm -f "${tmp:-/tmp}/bench.cur.$$"
done
