#!/usr/bin/env python3
"""Compare two scripts/grid-check.sh outputs row by row, keyed by cell
(cpu, workload, mmu, pages, host pages, params, occurrence), so a grid
that gained a profile or columns still lines up.

    scripts/grid-compare.py before.csv after.csv

Prints rows on each side, the columns added, and for every existing
column that changed: how many rows, and one example. Exit 1 when any
existing column changed, 0 otherwise."""
import collections
import csv
import sys


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    head, cells, seen = rows[0], {}, collections.Counter()
    for row in rows[1:]:
        x = dict(zip(head, row))
        k = (x["cpu"], x["workload"], x["mmu"], x["pages"], x["host_pages"], x["params"])
        seen[k] += 1
        cells[k + (seen[k],)] = x
    return head, cells


if len(sys.argv) != 3:
    sys.exit(__doc__)
ha, a = load(sys.argv[1])
hb, b = load(sys.argv[2])
print(f"rows {len(a)} -> {len(b)}; only before {len(set(a) - set(b))}, only after {len(set(b) - set(a))}")
print("columns added:", [c for c in hb if c not in ha])
print("columns gone:", [c for c in ha if c not in hb])
changed, example = collections.Counter(), {}
for k in a.keys() & b.keys():
    for col in ha:
        if col != "cell" and a[k][col] != b[k].get(col):
            changed[(k[1], col)] += 1
            example.setdefault((k[1], col), (k[:5], a[k][col], b[k].get(col)))
for (wl, col), n in changed.most_common():
    print(f"{wl} {col}: {n} rows, e.g. {example[(wl, col)]}")
sys.exit(1 if changed else 0)
