#!/usr/bin/env bash
# Build the libFuzzer harnesses (clang, -Dfuzz=true, in build-fuzz/) and
# run each for a while, one at a time, at the lowest priority.
#   scripts/fuzz.sh [SECONDS] [HARNESS...]   default 60 s each, every harness
#   scripts/fuzz.sh --merge [SECONDS] ...    also fold new inputs into fuzz/corpus/
# Harnesses: profile (the CPU profile parser), cli (the command line's
# parsers), pt (native, shadow and ept in lockstep under a guest that
# mutates its page tables at random). New inputs go to a scratch corpus
# (build-fuzz/corpus-NAME) unless --merge; crashes to
# build-fuzz/artifacts/. Needs clang and libclang-rt-dev:
# scripts/setup.sh --fuzz installs them.
set -euo pipefail
cd "$(dirname "$0")/.."

merge=0
if [ "${1:-}" = "--merge" ]; then merge=1; shift; fi
secs=${1:-60}
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=(profile cli pt)

if [ ! -d build-fuzz ]; then
	CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=false >/dev/null
fi
ninja -C build-fuzz >/dev/null
mkdir -p build-fuzz/artifacts
status=0
for h in "${harnesses[@]}"; do
	bin=build-fuzz/fuzz/fuzz_$h
	seeds=fuzz/corpus/$h
	work=build-fuzz/corpus-$h
	[ -x "$bin" ] || { echo "fuzz.sh: no harness '$h'" >&2; exit 2; }
	mkdir -p "$work"
	log=build-fuzz/fuzz-$h.log
	echo "fuzz.sh: $h for ${secs} s (log $log)"
	# a crash, leak, sanitizer report or timeout (10 s per input) fails
	if ! nice -n 19 "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix=build-fuzz/artifacts/"$h"- \
		"$work" "$seeds" >"$log" 2>&1; then
		echo "fuzz.sh: $h FAILED (see $log and build-fuzz/artifacts/)" >&2
		tail -20 "$log" >&2
		status=1
	fi
	grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+.*DONE)' "$log" |
		sed "s/^/  $h: /" || true
	if [ $merge -eq 1 ]; then
		nice -n 19 "$bin" -merge=1 "$seeds" "$work" >>"$log" 2>&1
		echo "  $h: corpus now $(ls "$seeds" | wc -l) inputs"
	fi
done
exit $status
