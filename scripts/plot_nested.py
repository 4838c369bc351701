#!/usr/bin/env python3
"""The nested section's table and plot from results/nested.csv.

The CPUID loop's cycles per iteration are the difference of the runs at
two iteration counts divided by their difference. For each configuration
(L1, and L2 under each personality) the table gives cycles, exits by
reason and where the cycles went; the plot stacks those parts:
hardware transitions, L0's nested steps, L0's exit handlers, the L1
hypervisor's own instructions, and the rest (the loop itself).
  usage: scripts/plot_nested.py [RESULTS-DIR]
"""
import csv
import os
import subprocess
import sys

RES = sys.argv[1] if len(sys.argv) > 1 else "results"
rows = list(csv.DictReader(open(os.path.join(RES, "nested.csv"))))
MEASURED = {"none": 768, "kvm-4.13": 18830}
EXITS = ["exit_cpuid", "exit_vmread", "exit_vmwrite", "exit_xsetbv", "exit_msr_read",
         "exit_vmresume"]
STEPS = [("cycles_exit_transition", "VM exit+entry (hardware)"),
         ("cycles_l0_vmexit", "L0 nested_vmx_vmexit"),
         ("cycles_l0_shadow_copy", "L0 shadow VMCS copies"),
         ("cycles_l0_vmentry", "L0 nested_vmx_run"),
         ("cycles_l0_prepare_vmcs02", "L0 prepare_vmcs02"),
         ("cycles_l0_msr_merge", "L0 MSR bitmap merge"),
         ("cycles_l0_debugctl", "L0 DEBUGCTL reads"),
         ("handlers", "L0 exit handlers"),
         ("cycles_l1", "L1 hypervisor"),
         ("rest", "the loop, the rest")]


def num(r, k):
    return float(r[k])


def key(r):
    return (r["cpu"], r["workload"], r["l1_mmu"], r["l1"])


cpuid = {}
for r in rows:
    if r["workload"] == "cpuid":
        cpuid.setdefault(key(r), []).append(r)
configs, table = [], []
for k, (a, b) in cpuid.items():
    n = int(b["params"].split("=")[1]) - int(a["params"].split("=")[1])
    d = {c: (num(b, c) - num(a, c)) / n for c in
         ["cycles", "exits"] + EXITS + [s for s, _ in STEPS if s not in ("handlers", "rest")]
         + ["cycles_exit_l0"]}
    steps = sum(d[s] for s, _ in STEPS[1:7])
    d["handlers"] = d["cycles_exit_l0"] - steps
    d["rest"] = d["cycles"] - sum(d[s] for s, _ in STEPS if s not in ("rest",))
    name = "L1" if k[2] == "none" else f"L2 {k[3]}"
    configs.append((name, k, d))

base = next((d["cycles"] for n, k, d in configs if n == "L1"), None)
print(f"CPUID loop, cycles per iteration ({rows[0]['cpu']}; measured on Broadwell "
      "with Linux 4.13 KVM: L1 768, L2 18,830)")
hdr = f"{'configuration':24} {'cycles':>8} {'x L1':>6} {'exits':>5} " + \
      " ".join(f"{e[5:]:>8}" for e in EXITS)
print(hdr)
for name, k, d in configs:
    meas = MEASURED.get(k[3] if k[2] != "none" else "none")
    print(f"{name:24} {d['cycles']:8.0f} {d['cycles'] / base:6.1f} {d['exits']:5.0f} " +
          " ".join(f"{d[e]:8.0f}" for e in EXITS) +
          (f"   measured {meas}" if meas else ""))
print()
print("where an iteration's cycles go:")
print(f"{'configuration':24} " + " ".join(f"{lbl[:12]:>12}" for _, lbl in STEPS))
for name, k, d in configs:
    print(f"{name:24} " + " ".join(f"{d[s]:12.0f}" for s, _ in STEPS))
first = next((d for n, k, d in configs if k[3] == "kvm-4.13"), None)
if first:
    print()
    print("what each remedy saves per L2 iteration, against kvm-4.13:")
    for name, k, d in configs:
        if k[2] != "none" and k[3] != "kvm-4.13":
            print(f"  {k[3]:22} {first['cycles'] - d['cycles']:8.0f} cycles, "
                  f"{first['exits'] - d['exits']:.0f} exits fewer")

ctl = {}
for r in rows:
    if r["workload"] != "cpuid":
        ctl.setdefault(r["workload"], {})[r["l1_mmu"]] = r
if ctl:
    print()
    print("controls, whole runs: L1 vs L2 (kvm-4.13)")
    for wl, v in ctl.items():
        if "none" in v and "ept" in v:
            a, b = num(v["none"], "cycles"), num(v["ept"], "cycles")
            same = v["none"]["checksum"] == v["ept"]["checksum"]
            print(f"  {wl:12} L1 {a:14.0f}  L2 {b:14.0f}  {100 * (b - a) / a:+.3f}%  "
                  f"checksums {'equal' if same else 'DIFFER'}")

dat = os.path.join(RES, "plot-nested-cpuid.dat")
with open(dat, "w") as f:
    f.write("config " + " ".join(f'"{lbl}"' for _, lbl in STEPS) + "\n")
    for name, k, d in configs:
        f.write(f'"{name}" ' + " ".join(f"{max(d[s], 0):.6g}" for s, _ in STEPS) + "\n")
# one colour per part, so no two neighbours share one
COLOURS = ["#7f7f7f", "#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#d62728",
           "#9467bd", "#e377c2", "#bcbd22"]
plots = ", ".join(f"'{dat}' using {i + 2}{':xtic(1)' if i == 0 else ''} "
                  f"title columnheader({i + 2}) lc rgb '{COLOURS[i]}'"
                  for i in range(len(STEPS)))
script = f"""
set style data histograms
set style histogram rowstacked
set style fill solid 0.9 border -1
set boxwidth 0.7
set grid ytics
set key outside right top
set xtics nomirror rotate by -20
set title "CPUID loop on {rows[0]['cpu']}: cycles per iteration, L1 vs L2 per personality"
set ylabel "cycles per CPUID"
set yrange [0:*]
plot {plots}
"""
for ext, term in [("png", 'pngcairo noenhanced size 1100,560 font "sans,11"'),
                  ("svg", 'svg noenhanced size 1100,560 font "sans,11" background rgb "white"'),
                  ("pdf", 'pdfcairo noenhanced size 10in,5.1in font "sans,9"')]:
    out = os.path.join(RES, f"nested-cpuid.{ext}")
    try:
        subprocess.run(["gnuplot"], input=f"set terminal {term}\nset output '{out}'\n" + script,
                       text=True, check=True)
    except FileNotFoundError:
        print("plot_nested: no gnuplot, no plot", file=sys.stderr)
        break
