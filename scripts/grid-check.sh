#!/usr/bin/env bash
# The behaviour check for refactors and hot-path work: every workload x MMU x
# page size x shipped profile at small sizes, plus the pcid=1, vpid=0 and
# shadow_unsync=0 variants, printed as CSV without wall_s (the one column that
# may differ between two runs of the same inputs).
#   scripts/grid-check.sh > before.csv; (change); scripts/grid-check.sh | diff before.csv -
#   (scripts/grid-compare.py before.csv after.csv lines rows up by cell when
#   a profile or columns were added)
# BUILD=dir picks the build (default build-release, configured if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build-release}
if [ ! -d "$build" ]; then
	meson setup "$build" -Dbuildtype=release -Dtests=false >/dev/null
fi
ninja -C "$build" >/dev/null
vmm=("$build/bin/vmm" --quiet --mmu=native,shadow,ept --pages=4k,2m
     --workload=forkwait,memsweep,getppid,countprimes,fib
     --param iters=300 --param size=4m --param passes=2
     --param limit=20000 --param n=18)
all=$(ls profiles/*.profile | sed 's|.*/||; s|\.profile$||' | paste -sd,)
export MEMVIRT_PROFILES=$PWD/profiles
drop_wall() {
	python3 -c '
import csv, sys
r = csv.reader(sys.stdin); w = csv.writer(sys.stdout, lineterminator="\n")
h = next(r); keep = [i for i, c in enumerate(h) if c != "wall_s"]
if sys.argv[1] == "1": w.writerow([h[i] for i in keep])
for row in r: w.writerow([row[i] for i in keep])' "$1"
}
"${vmm[@]}" --cpu="$all" | drop_wall 1
"${vmm[@]}" --cpu="$all" --param vpid=0 | drop_wall 0
"${vmm[@]}" --cpu="$all" --param shadow_unsync=0 | drop_wall 0
# pcid=1 needs a profile with PCID.
pcid=$(grep -l '^pcid *= *1' profiles/*.profile | sed 's|.*/||; s|\.profile$||' | paste -sd,)
[ -n "$pcid" ] && "${vmm[@]}" --cpu="$pcid" --param pcid=1 | drop_wall 0
