#!/usr/bin/env python3
"""A sweep (vmm --list-cells | GNU parallel | merge, scripts/sweep.sh) gives
the in-process grid's CSV exactly, wall_s aside; --resume reruns only the
missing cells; each listed cell's arguments run that cell alone."""
import csv, io, os, shlex, subprocess, sys, tempfile

vmm = os.environ["VMM"]
sweep = sys.argv[1]
grid = ["--mmu=native,shadow,ept", "--pages=4k,2m", "--workload=forkwait,memsweep",
        "--param", "iters=20", "--param", "size=1m", "--param", "passes=1"]
failed = 0


def check(ok, what):
    global failed
    print(("ok    " if ok else "FAIL  ") + what)
    failed += 0 if ok else 1


def rows(text):
    r = list(csv.reader(io.StringIO(text)))
    return (r[0], r[1:]) if r else ([], [])


def strip_wall(header, body):
    w = header.index("wall_s")
    return [row[:w] + row[w + 1:] for row in body]


one = subprocess.run([vmm] + grid + ["--quiet", "--jobs=2"], capture_output=True,
                     text=True, check=True).stdout
h1, b1 = rows(one)
check(len(b1) == 12, f"in-process grid: 12 rows ({len(b1)})")
# cell is followed only by columns appended after it (docs: new columns go at the end)
check("cell" in h1 and [r[h1.index("cell")] for r in b1] == [str(i) for i in range(12)],
      "the cell column counts 0..11 in grid order")

with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "sw")
    run = lambda extra: subprocess.run([sweep, "-j", "2", "--out", out] + extra + ["--"] + grid,
                                       capture_output=True, text=True)
    s = run([])
    check(s.returncode == 0, f"sweep.sh exits 0 ({s.returncode}: {s.stderr.strip()[-300:]})")
    h2, b2 = rows(s.stdout)
    check(h2 == h1, "the merged header is the grid's")
    check(strip_wall(h2, b2) == strip_wall(h1, b1), "the merged rows are the grid's, wall_s aside")
    check(open(os.path.join(out, "merged.csv")).read() == s.stdout, "merged.csv is what stdout got")
    log = open(os.path.join(out, "joblog")).read().splitlines()
    check(len(log) == 13, f"the job log has a line per cell ({len(log) - 1})")

    # Lose cell 5 (its result and its job log line), then resume.
    lines = [l for l in log if l.split("\t")[0] != "6"]	# parallel's Seq counts from 1
    open(os.path.join(out, "joblog"), "w").write("\n".join(lines) + "\n")
    subprocess.run(["rm", "-rf", os.path.join(out, "cells", "1", "5")], check=True)
    s = run(["--resume"])
    log2 = open(os.path.join(out, "joblog")).read().splitlines()
    check(s.returncode == 0 and len(log2) == 13 and log2[-1].split("\t")[0] == "6",
          "--resume ran the one missing cell and no other")
    h3, b3 = rows(s.stdout)
    check(strip_wall(h3, b3) == strip_wall(h1, b1), "the resumed merge is the grid's, wall_s aside")

# --list-cells: index, tab, the arguments that run the cell alone.
cells = subprocess.run([vmm] + grid + ["--list-cells"], capture_output=True, text=True,
                       check=True).stdout.splitlines()
check(len(cells) == 12 and all(c.split("\t")[0] == str(i) for i, c in enumerate(cells)),
      "--list-cells prints 12 lines, index then tab")
w, cc = h1.index("wall_s"), h1.index("cell")
same = True
for i, line in enumerate(cells):
    args = shlex.split(line.split("\t", 1)[1])
    hh, bb = rows(subprocess.run([vmm] + args + ["--quiet"], capture_output=True, text=True,
                                 check=True).stdout)
    a = [v for k, v in enumerate(bb[0]) if k not in (w, cc)]
    b = [v for k, v in enumerate(b1[i]) if k not in (w, cc)]
    if hh != h1 or len(bb) != 1 or a != b:
        same = False
        print(f"  cell {i}: {line}")
check(same, "each listed cell's arguments alone give that cell's row (wall_s, cell aside)")

c = subprocess.run([vmm] + grid + ["--cell=7", "--no-header", "--quiet"], capture_output=True,
                   text=True, check=True).stdout.splitlines()
check(len(c) == 1 and c[0].split(",")[h1.index("cell")] == "7" and
      c[0].split(",")[:w] == b1[7][:w], "--cell=7 --no-header: cell 7's row alone, no header")
c = subprocess.run([vmm] + grid + ["--cell=12"], capture_output=True, text=True)
check(c.returncode == 2 and c.stdout == "" and len(c.stderr.splitlines()) == 1 and
      "12 cells" in c.stderr, f"--cell=12: one line, status 2 ({c.returncode}: {c.stderr.strip()})")
c = subprocess.run([sweep, "--", "--mmu=native", "--cell=1"], capture_output=True, text=True)
check(c.returncode == 2, "sweep.sh refuses a --cell of the caller's")
print("all checks passed" if not failed else f"{failed} checks failed")
sys.exit(1 if failed else 0)
