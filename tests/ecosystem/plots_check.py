#!/usr/bin/env python3
"""scripts/plots.py on a tiny grid: every plot as PNG, SVG and PDF; no
series that is zero everywhere; a log scale on the exits where they span
decades; the walk-cost histogram adds up to 100% of walks."""
import csv, glob, os, subprocess, sys, tempfile

vmm, plots = os.environ["VMM"], sys.argv[1]
failed = 0


def check(ok, what):
    global failed
    print(("ok    " if ok else "FAIL  ") + what)
    failed += 0 if ok else 1


with tempfile.TemporaryDirectory() as res:
    with open(os.path.join(res, "memvirt.csv"), "w") as f:
        subprocess.run([vmm, "--mmu=native,shadow,ept", "--pages=4k,2m",
                        "--workload=forkwait,memsweep", "--param", "iters=100",
                        "--param", "size=2m", "--param", "passes=1", "--quiet"],
                       stdout=f, check=True)
    r = subprocess.run([sys.executable, plots, res], capture_output=True, text=True)
    check(r.returncode == 0, f"plots.py exits 0 ({r.stderr.strip()[-300:]})")
    pngs = sorted(glob.glob(os.path.join(res, "*.png")))
    names = sorted(os.path.basename(p)[:-4] for p in pngs)
    check(names == ["breakdown-skylake", "dtlb-skylake", "exits-skylake", "runtime-skylake",
                    "walkhist-skylake"], f"the five plots ({names})")
    for p in pngs:
        b = p[:-4]
        check(os.path.getsize(b + ".svg") > 0 and open(b + ".svg").read(200).find("<svg") >= 0 and
              open(b + ".pdf", "rb").read(5) == b"%PDF-", f"{os.path.basename(b)}: SVG and PDF beside the PNG")
    for dat in glob.glob(os.path.join(res, "plot-*.dat")):
        rows = [l.rsplit('"', 1)[-1].split() if l.startswith('"') else l.split()[1:]
                for l in open(dat).read().splitlines()[1:]]
        cols = list(zip(*rows))
        zero = [i for i, c in enumerate(cols) if all(v in ("0", "NaN") or float(v) == 0 for v in c)]
        check(not zero, f"{os.path.basename(dat)}: no series zero everywhere")
    ex = open(os.path.join(res, "plot-exits-skylake.dat")).read().splitlines()[0]
    check("EPT_MISCONFIG" not in ex, "the exits plot leaves out EPT_MISCONFIG, zero everywhere")
    script = open(os.path.join(res, "exits-skylake.svg")).read()
    check("(log scale)" in script, "the exits, spanning decades, are on a log scale")
    rows = list(csv.DictReader(open(os.path.join(res, "memvirt.csv"))))
    for wl in ("forkwait", "memsweep"):
        dat = open(os.path.join(res, f"plot-walkhist-skylake-{wl}.dat")).read().splitlines()
        sums = [sum(float(l.split()[1 + i]) for l in dat[1:]) for i in range(6)]
        check(all(abs(s - 100) < 0.01 for s in sums), f"walk histogram {wl}: each config sums to 100%")
        for r in (r for r in rows if r["workload"] == wl):
            h = [int(x) for x in r["walk_refs_hist"].split(";")]
            check(sum(h) == int(r["walks"]), f"{wl} {r['mmu']} {r['pages']}: walk_refs_hist counts every walk")
print("all checks passed" if not failed else f"{failed} checks failed")
sys.exit(1 if failed else 0)
