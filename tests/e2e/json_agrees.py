#!/usr/bin/env python3
"""The JSON report parses and agrees with the CSV, cell by cell (wall_s aside)."""
import csv, io, json, os, re, subprocess, sys

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
        jv = o[k]
        # The JSON's types are the CSV's: an integer column is a JSON
        # integer (not 1e+06, not "12"), an empty field is null, text is
        # a string; float(v) == float(jv) alone would pass 12 vs "12.0".
        if v == "":
            assert jv is None, (k, jv)
        elif re.fullmatch(r"-?[0-9]+", v):
            assert type(jv) is int, (k, jv, v)
            assert jv == int(v), (k, jv, v)
        elif re.fullmatch(r"-?[0-9]*\.?[0-9]+(e[-+]?[0-9]+)?", v, re.I):
            assert type(jv) in (int, float), (k, jv, v)
            if k != "wall_s":
                assert float(v) == float(jv), (k, jv, v)
        else:
            assert isinstance(jv, str) and jv == v, (k, jv, v)
print("1 passed, 0 failed")
