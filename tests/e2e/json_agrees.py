#!/usr/bin/env python3
"""The JSON report parses and agrees with the CSV, cell by cell (wall_s aside)."""
import csv, io, json, os, subprocess, sys

vmm = os.environ["VMM"]
args = ["--mmu=native,ept", "--pages=4k,2m", "--workload=memsweep,forkwait",
        "--param", "size=1m", "--param", "passes=1", "--param", "iters=50", "--quiet"]
c = subprocess.run([vmm] + args, capture_output=True, text=True, check=True)
j = subprocess.run([vmm] + args + ["--format=json"], capture_output=True, text=True, check=True)
rows = list(csv.DictReader(io.StringIO(c.stdout)))
objs = json.loads(j.stdout)
assert len(rows) == len(objs) == 8, (len(rows), len(objs))
for r, o in zip(rows, objs):
    assert list(r.keys()) == list(o.keys()), "JSON keys differ from CSV columns"
    for k, v in r.items():
        if k == "wall_s":
            continue
        jv = o[k]
        if isinstance(jv, str):
            assert jv == v, (k, jv, v)
        else:
            assert float(v) == float(jv), (k, jv, v)
print("1 passed, 0 failed")
