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
status=0
meson test -C "$dir" --print-errorlogs --timeout-multiplier=4 || status=$?
# The closing line counts every test meson ran by its result, and names
# each skipped test (meson's SKIP: exit status 77, or a TAP run whose
# subtests all skipped) with the reason it gave; TAP subtests skipped
# inside a test that passed are named too, so no skip passes unseen.
python3 - "$dir/meson-logs/testlog.json" <<'PY' || status=1
import json, re, sys

passed = failed = skipped = 0
notes = []
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    t = json.loads(line)
    res, out = t["result"], t.get("stdout") or ""
    tap_skips = re.findall(r"^ok\b[^#\n]*#\s*SKIP\b:?\s*(.*)$", out, re.M | re.I)
    if res in ("OK", "EXPECTEDFAIL"):
        passed += 1
        for why in tap_skips:
            notes.append("  %s: a subtest skipped: %s" % (t["name"], why or "no reason given"))
    elif res == "SKIP":
        skipped += 1
        if tap_skips:
            why = "; ".join(w or "no reason given" for w in tap_skips)
        else:
            lines = [l.strip() for l in out.splitlines() if l.strip()]
            why = lines[-1] if lines else "no reason given (exit status 77)"
        notes.append("  skipped %s: %s" % (t["name"], why))
    else:
        failed += 1
for n in notes:
    print(n)
print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
PY
exit "$status"
