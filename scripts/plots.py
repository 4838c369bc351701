#!/usr/bin/env python3
"""Render the main job's plots from results/memvirt.csv with gnuplot.

One set of four plots per CPU profile:
  runtime-CPU.png    modeled runtime normalised to native at 4K pages
  dtlb-CPU.png       dTLB miss rate
  exits-CPU.png      VM exits by reason
  breakdown-CPU.png  where the cycles go, stacked, normalised like runtime
Data files (results/plot-*.dat) are kept next to the plots so a figure can
be checked against the numbers it shows.
"""
import csv
import os
import subprocess
import sys

RES = sys.argv[1] if len(sys.argv) > 1 else "results"
CONFIGS = [(m, p) for m in ("native", "shadow", "ept") for p in ("4k", "2m")]
CATS = [("cycles_user", "guest user"), ("cycles_kernel", "guest kernel"),
        ("cycles_data", "data memory"), ("cycles_tlb", "TLB L2 hits"),
        ("cycles_walk", "page walks"), ("cycles_exit", "VM exits")]
EXITS = [("exit_exception_nmi", "EXCEPTION_NMI (#PF)"), ("exit_cr_access", "CR_ACCESS"),
         ("exit_invlpg", "INVLPG"), ("exit_ept_violation", "EPT_VIOLATION"),
         ("exit_ept_misconfig", "EPT_MISCONFIG")]

rows = list(csv.DictReader(open(os.path.join(RES, "memvirt.csv"))))
cpus = list(dict.fromkeys(r["cpu"] for r in rows))
workloads = list(dict.fromkeys(r["workload"] for r in rows))


def cell(cpu, wl, mmu, pages):
    for r in rows:
        if (r["cpu"], r["workload"], r["mmu"], r["pages"]) == (cpu, wl, mmu, pages):
            return r
    return None


def gnuplot(script):
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def label(mmu, pages):
    return f"{mmu} {pages}"


COMMON = """
set terminal pngcairo noenhanced size 1100,560 font "sans,11"
set style data histograms
set style fill solid 0.9 border -1
set boxwidth 0.85
set grid ytics
set key outside right top
set xtics nomirror
"""

for cpu in cpus:
    base = {wl: float(cell(cpu, wl, "native", "4k")["cycles"]) for wl in workloads
            if cell(cpu, wl, "native", "4k")}
    configs = [c for c in CONFIGS if any(cell(cpu, wl, *c) for wl in workloads)]

    def clustered(kind, title, ylabel, value):
        """One group of bars per workload, one bar per (mmu, pages)."""
        dat = os.path.join(RES, f"plot-{kind}-{cpu}.dat")
        with open(dat, "w") as f:
            f.write("workload " + " ".join(f'"{label(*c)}"' for c in configs) + "\n")
            for wl in workloads:
                vals = []
                for c in configs:
                    r = cell(cpu, wl, *c)
                    v = value(r, wl) if r else None
                    vals.append(f"{v:.4f}" if v is not None else "NaN")
                f.write(f"{wl} " + " ".join(vals) + "\n")
        cols = ", ".join(f"'{dat}' using {i + 2}:xtic(1) title columnheader({i + 2})"
                         for i in range(len(configs)))
        gnuplot(COMMON + f"""
set output '{RES}/{kind}-{cpu}.png'
set title "{title} ({cpu})"
set ylabel "{ylabel}"
set yrange [0:*]
set style histogram clustered gap 1
plot {cols}
""")

    clustered("runtime", "Modeled runtime, normalised to native with 4K pages",
              "runtime / native 4K",
              lambda r, wl: float(r["cycles"]) / base[wl] if wl in base else None)
    clustered("dtlb", "dTLB miss rate: data accesses that needed a page walk",
              "misses per 100 data accesses",
              lambda r, wl: 100 * float(r["dtlb_miss_rate"]))

    # exits by reason and where the time goes: one bar per (workload, config)
    for kind in ("exits", "breakdown"):
        dat = os.path.join(RES, f"plot-{kind}-{cpu}.dat")
        series = EXITS if kind == "exits" else CATS
        with open(dat, "w") as f:
            f.write('bar ' + " ".join(f'"{n}"' for _, n in series) + "\n")
            for wl in workloads:
                for c in configs:
                    r = cell(cpu, wl, *c)
                    if not r:
                        continue
                    if kind == "exits":
                        # per 1000 guest data accesses, so workloads compare
                        vals = [1000 * float(r[k]) / max(1.0, float(r["accesses"])) for k, _ in series]
                    else:
                        vals = [float(r[k]) / base[wl] for k, _ in series]
                    f.write(f'"{wl} {label(*c)}" ' + " ".join(f"{v:.6f}" for v in vals) + "\n")
        cols = " ".join(f"'{dat}' using {i + 2}:xtic(1) title columnheader({i + 2}){',' if i + 1 < len(series) else ''}"
                        for i in range(len(series)))
        title = (f"VM exits by reason per 1000 data accesses ({cpu})" if kind == "exits"
                 else f"Where the cycles go, normalised to native 4K ({cpu})")
        ylabel = "exits per 1000 accesses" if kind == "exits" else "cycles / native 4K total"
        gnuplot(COMMON.replace("1100,560", "1500,620") + f"""
set output '{RES}/{kind}-{cpu}.png'
set title "{title}"
set ylabel "{ylabel}"
set yrange [0:*]
set style histogram rowstacked
set xtics rotate by -45 font ",9"
set bmargin 7
plot {cols}
""")
print(f"plots: {len(cpus) * 4} written to {RES}/", file=sys.stderr)
