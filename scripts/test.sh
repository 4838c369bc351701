#!/usr/bin/env bash
# Build memvirt and run its tests.
#   scripts/test.sh              plain build in build/
#   scripts/test.sh --sanitize   AddressSanitizer + UBSan build in build-san/
# Warnings are errors here (as in CI).
set -euo pipefail
cd "$(dirname "$0")/.."

dir=build
opts=(-Dwerror=true)
if [ "${1:-}" = "--sanitize" ]; then
	dir=build-san
	opts+=(-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug)
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
	export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi

if [ -d "$dir" ]; then
	meson configure "$dir" "${opts[@]}" >/dev/null
else
	meson setup "$dir" "${opts[@]}" >/dev/null
fi
ninja -C "$dir"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
meson test -C "$dir" --print-errorlogs --timeout-multiplier=4 | tee "$log" || status=$?
ok=$(awk '/^Ok:/ {print $2}' "$log")
fail=$(awk '/^(Fail|Timeout):/ {n += $2} END {print n + 0}' "$log")
echo "${ok:-0} passed, ${fail} failed"
exit "$status"
