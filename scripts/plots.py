#!/usr/bin/env python3
"""Render the main job's plots from results/memvirt.csv with gnuplot.

One set of plots per CPU profile, each as PNG, SVG and PDF:
  runtime-CPU     modeled runtime normalised to native at 4K pages
  dtlb-CPU        dTLB miss rate
  exits-CPU       VM exits by reason per 1000 data accesses (log scale
                  when the values span decades)
  breakdown-CPU   where the cycles go, stacked, normalised like runtime
  walkhist-CPU    the walk-cost distribution: the share of page walks
                  that made k memory references, per workload (from the
                  walk_refs_hist column; skipped for a CSV without it)
A series that is zero everywhere is left out of its plot, and bars carry
their values where there is room. Data files (results/plot-*.dat) are
kept next to the plots so a figure can be checked against its numbers.
  usage: scripts/plots.py [RESULTS-DIR]
"""
import csv
import math
import os
import subprocess
import sys

RES = sys.argv[1] if len(sys.argv) > 1 else "results"
CONFIGS = [(m, p) for m in ("native", "shadow", "ept") for p in ("4k", "2m")]
CATS = [("cycles_user", "guest user"), ("cycles_kernel", "guest kernel"),
        ("cycles_data", "data memory"), ("cycles_tlb", "L2 TLB lookups"),
        ("cycles_walk", "page walks"), ("cycles_exit", "VM exits")]
EXITS = [("exit_exception_nmi", "EXCEPTION_NMI (#PF)"), ("exit_cr_access", "CR_ACCESS"),
         ("exit_invlpg", "INVLPG"), ("exit_ept_violation", "EPT_VIOLATION"),
         ("exit_ept_misconfig", "EPT_MISCONFIG")]
# A bar gets its value written on it when it is at least this wide (pixels
# of a PNG; a rotated 8-point label needs about this much).
MIN_LABELLED_BAR_PX = 16
# Positive values spanning more than this ratio get a log scale.
LOG_SPAN = 100.0

rows = list(csv.DictReader(open(os.path.join(RES, "memvirt.csv"))))
cpus = list(dict.fromkeys(r["cpu"] for r in rows))
workloads = list(dict.fromkeys(r["workload"] for r in rows))
written = []


def cell(cpu, wl, mmu, pages):
    for r in rows:
        if (r["cpu"], r["workload"], r["mmu"], r["pages"]) == (cpu, wl, mmu, pages):
            return r
    return None


TERMINALS = [
    ("png", 'pngcairo noenhanced size {w},{h} font "sans,11"'),
    ("svg", 'svg noenhanced size {w},{h} font "sans,11" background rgb "white"'),
    ("pdf", 'pdfcairo noenhanced size {wi:.2f}in,{hi:.2f}in font "sans,9"'),
]


def gnuplot(name, script, w=1100, h=560):
    """Render one plot as RES/name.png, .svg and .pdf."""
    for ext, term in TERMINALS:
        out = os.path.join(RES, f"{name}.{ext}")
        head = f"set terminal {term.format(w=w, h=h, wi=w / 110, hi=h / 110)}\nset output '{out}'\n"
        subprocess.run(["gnuplot"], input=head + script, text=True, check=True)
        written.append(out)


def label(mmu, pages):
    return f"{mmu} {pages}"


def use_log(values):
    pos = [v for v in values if v is not None and v > 0]
    return len(pos) > 1 and max(pos) / min(pos) > LOG_SPAN


COMMON = """
set style data histograms
set style fill solid 0.9 border -1
set boxwidth 0.85
set grid ytics
set key outside right top
set xtics nomirror
"""


def clustered(name, title, ylabel, groups, series, table, log=None, extra=""):
    """One group of bars per entry of groups, one bar per series; table[g][s]
    is a value or None. Series that are zero (or missing) everywhere are
    dropped; bars are labelled with their values when they fit."""
    keep = [i for i, _ in enumerate(series)
            if any(table[g][i] not in (None, 0) for g in range(len(groups)))]
    if not keep:
        print(f"plots: {name}: every series is zero, no plot", file=sys.stderr)
        return
    series = [series[i] for i in keep]
    table = [[row[i] for i in keep] for row in table]
    values = [v for row in table for v in row]
    if log is None:
        log = use_log(values)
    dat = os.path.join(RES, f"plot-{name}.dat")
    with open(dat, "w") as f:
        f.write('group ' + " ".join(f'"{s}"' for s in series) + "\n")
        for g, row in zip(groups, table):
            # On a log scale a zero has no place: leave the bar out.
            vals = ["NaN" if v is None or (log and v <= 0) else f"{v:.6g}" for v in row]
            f.write(f'"{g}" ' + " ".join(vals) + "\n")
    n, gap = len(series), 1
    plots = [f"'{dat}' using {i + 2}:xtic(1) title columnheader({i + 2})" for i in range(n)]
    width = min(1600, max(1100, 22 * n * len(groups) + 300))
    if (width - 300) / (n * len(groups) + gap * len(groups)) >= MIN_LABELLED_BAR_PX:
        for i in range(n):
            # gnuplot puts bar i of group k at k + (i - (n - 1) / 2) / (n + gap).
            x = f"($0 + ({i} - {(n - 1) / 2}) / {n + gap}.0)"
            plots.append(f"'{dat}' skip 1 using {x}:{i + 2}:(sprintf('%.3g', column({i + 2}))) "
                         "with labels rotate by 90 left offset 0,0.4 font ',8' notitle")
    top = max(v for v in values if v is not None)
    if log:
        pos = [v for v in values if v is not None and v > 0]
        # at least half a decade under the smallest bar, so that it shows
        lo = 10 ** math.floor(math.log10(min(pos)) - 0.5)
        yr = f"set logscale y\nset yrange [{lo:g}:{top * 30:g}]\nset format y '%g'\n"
        ylabel += " (log scale)"
        if any(v is not None and v <= 0 for v in values):
            title += " (no bar: zero)"
    else:
        yr = f"set yrange [0:{top * 1.15 if top > 0 else 1}]\n"
    gnuplot(name, COMMON + f"""
set title "{title}"
set ylabel "{ylabel}"
{yr}set style histogram clustered gap {gap}
{extra}
plot {", ".join(plots)}
""", w=width)


for cpu in cpus:
    base = {wl: float(cell(cpu, wl, "native", "4k")["cycles"]) for wl in workloads
            if cell(cpu, wl, "native", "4k")}
    configs = [c for c in CONFIGS if any(cell(cpu, wl, *c) for wl in workloads)]
    names = [label(*c) for c in configs]

    def per_workload(value):
        out = []
        for wl in workloads:
            out.append([value(cell(cpu, wl, *c), wl) if cell(cpu, wl, *c) else None
                        for c in configs])
        return out

    clustered(f"runtime-{cpu}", f"Modeled runtime, normalised to native with 4K pages ({cpu})",
              "runtime / native 4K", workloads, names,
              per_workload(lambda r, wl: float(r["cycles"]) / base[wl] if wl in base else None),
              log=False)
    clustered(f"dtlb-{cpu}", f"dTLB miss rate: data accesses that needed a page walk ({cpu})",
              "misses per 100 data accesses", workloads, names,
              # dtlb_miss_rate itself, unrounded (the column has 6 decimals)
              per_workload(lambda r, wl: 100 * float(r["dtlb_misses"]) / max(1.0, float(r["accesses"]))))

    # Exits by reason: one group per (workload, config) that exits at all.
    groups, table = [], []
    for wl in workloads:
        for c in configs:
            r = cell(cpu, wl, *c)
            if not r or float(r["exits"]) == 0:
                continue
            groups.append(f"{wl} {label(*c)}")
            # per 1000 guest data accesses, so workloads compare
            table.append([1000 * float(r[k]) / max(1.0, float(r["accesses"])) for k, _ in EXITS])
    if groups:
        clustered(f"exits-{cpu}", f"VM exits by reason per 1000 data accesses ({cpu})",
                  "exits per 1000 accesses", groups, [n for _, n in EXITS], table,
                  extra="set xtics rotate by -30 font ',9'\nset bmargin 6")

    # Where the time goes: stacked, with each stack's total on top.
    groups, table = [], []
    for wl in workloads:
        for c in configs:
            r = cell(cpu, wl, *c)
            if r and wl in base:
                groups.append(f"{wl} {label(*c)}")
                table.append([float(r[k]) / base[wl] for k, _ in CATS])
    keep = [i for i in range(len(CATS)) if any(row[i] for row in table)]
    dat = os.path.join(RES, f"plot-breakdown-{cpu}.dat")
    with open(dat, "w") as f:
        f.write('bar ' + " ".join(f'"{CATS[i][1]}"' for i in keep) + ' "total"\n')
        for g, row in zip(groups, table):
            f.write(f'"{g}" ' + " ".join(f"{row[i]:.6f}" for i in keep) +
                    f" {sum(row):.6f}\n")
    cols = [f"'{dat}' using {j + 2}:xtic(1) title columnheader({j + 2})" for j in range(len(keep))]
    tot = len(keep) + 2
    cols.append(f"'{dat}' skip 1 using 0:{tot}:(sprintf('%.2f', ${tot})) with labels "
                "rotate by 90 left offset 0,0.4 font ',8' notitle")
    top = max(sum(row) for row in table) if table else 1
    gnuplot(f"breakdown-{cpu}", COMMON + f"""
set title "Where the cycles go, normalised to native 4K ({cpu})"
set ylabel "cycles / native 4K total"
set yrange [0:{top * 1.15}]
set style histogram rowstacked
set xtics rotate by -45 font ",9"
set bmargin 7
plot {", ".join(cols)}
""", w=1500, h=620)

    # The walk-cost distribution: walks by references made, per workload.
    if "walk_refs_hist" not in rows[0]:
        print("plots: no walk_refs_hist column in this CSV, no walk-cost histogram",
              file=sys.stderr)
        continue
    panels = []
    for wl in workloads:
        hists = {}
        for c in configs:
            r = cell(cpu, wl, *c)
            h = [int(x) for x in r["walk_refs_hist"].split(";")] if r and r["walk_refs_hist"] else []
            if sum(h):
                hists[label(*c)] = [100.0 * x / sum(h) for x in h]
        if hists:
            panels.append((wl, hists))
    if not panels:
        continue
    script = COMMON + f"""
set multiplot layout {len(panels)},1 title "Walk-cost distribution: share of page walks by memory references made ({cpu})"
set style histogram clustered gap 1
set ylabel "% of walks"
set yrange [0:*]
set key inside right top
"""
    for wl, hists in panels:
        width = max(len(h) for h in hists.values())
        dat = os.path.join(RES, f"plot-walkhist-{cpu}-{wl}.dat")
        with open(dat, "w") as f:
            f.write("refs " + " ".join(f'"{k}"' for k in hists) + "\n")
            for k in range(width):
                refs = f"{k}+" if k == 32 else str(k)
                f.write(refs + " " + " ".join(f"{h[k]:.4f}" if k < len(h) else "0"
                                              for h in hists.values()) + "\n")
        cols = ", ".join(f"'{dat}' using {i + 2}:xtic(1) title columnheader({i + 2})"
                         for i in range(len(hists)))
        script += f'set title "{wl}"\nset xlabel "references per walk"\nplot {cols}\n'
    gnuplot(f"walkhist-{cpu}", script + "unset multiplot\n", w=1100, h=300 * len(panels) + 60)

print(f"plots: {len(written)} files written to {RES}/ ({len(written) // 3} plots as png, svg, pdf)",
      file=sys.stderr)
