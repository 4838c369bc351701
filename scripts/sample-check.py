#!/usr/bin/env python3
"""Compare a sampled run's CSV with an exact run's, cell by cell.

usage: scripts/sample-check.py EXACT.csv SAMPLED.csv

For every cell in both: the checksum and the counts the mechanism makes
must be identical; for the estimated columns, the error beside the 95%
interval the sampled row states. Exit status 1 when a checksum or an
exact count differs, or when an estimate is outside max(its interval, 2%)
on runtime or the dTLB miss rate (the issue's bar).
"""
import csv
import sys

KEY = ("cpu", "workload", "mmu", "pages", "host_pages", "l1_mmu", "l1", "params")
EXACT = ("accesses", "stores", "insns_user", "insns_kernel", "syscalls", "exits",
         "guest_page_faults", "hidden_faults", "trace_faults", "true_faults",
         "pte_writes", "cr3_writes", "invlpgs", "forks", "cycles_user",
         "cycles_kernel", "cycles_exit", "ifetches")
EST = (("runtime_s", "runtime_s_ci95"), ("dtlb_miss_rate", "dtlb_miss_rate_ci95"),
       ("cycles", "cycles_ci95"), ("walks", "walks_ci95"), ("dtlb_misses", "dtlb_misses_ci95"))


def rows(path):
    with open(path, newline="") as f:
        return {tuple(r.get(k, "") for k in KEY): r for r in csv.DictReader(f)}


def main():
    ex, sa = rows(sys.argv[1]), rows(sys.argv[2])
    bad = 0
    print("%-12s %-11s %-6s %-3s %6s %9s %9s | %-26s | %-26s | %s" % (
        "cpu", "workload", "mmu", "pg", "units", "speedup", "detailed",
        "runtime err (ci95)", "dTLB miss rate err (ci95)", "verdict"))
    for k in sorted(ex):
        if k not in sa:
            continue
        e, s = ex[k], sa[k]
        notes = []
        if e["checksum"] != s["checksum"]:
            notes.append("CHECKSUM")
        for c in EXACT:
            if c in e and e[c] != s[c]:
                notes.append("%s %s!=%s" % (c, s[c], e[c]))
        errs = {}
        for col, ci in EST:
            a, b = float(e[col]), float(s[col])
            w = float(s[ci]) if s.get(ci) not in (None, "") else float("nan")
            errs[col] = (b - a, w, a)
        for col in ("runtime_s", "dtlb_miss_rate"):
            d, w, a = errs[col]
            tol = max(w, 0.02 * abs(a)) if w == w else 0.02 * abs(a)
            if abs(d) > tol:
                notes.append("%s outside" % col)
        inside = all(abs(d) <= w for d, w, a in errs.values() if w == w)
        rt, mr = errs["runtime_s"], errs["dtlb_miss_rate"]
        speed = float(e["wall_s"]) / float(s["wall_s"]) if float(s["wall_s"]) else 0
        det = int(s["sample_accesses"]) / int(s["accesses"]) if int(s["accesses"]) else 1
        print("%-12s %-11s %-6s %-3s %6s %8.1fx %8.1f%% | %+9.4f%% (%8.4f%%) | %+.6f (%.6f) | %s" % (
            k[0][:12], k[1], k[2], k[3], s["sample_windows"], speed, 100 * det,
            100 * rt[0] / rt[2] if rt[2] else 0, 100 * rt[1] / rt[2] if rt[2] else 0,
            mr[0], mr[1], "; ".join(notes) or ("ok, inside" if inside else "ok")))
        bad += bool(notes)
    print("%d cells differ beyond the bar" % bad)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
