#!/usr/bin/env python3
"""--report=perf prints exits exactly as `perf kvm stat report` does
(tools/perf/builtin-kvm.c print_result()), parsed here by a regex of
perf's own format strings, and its numbers agree with the CSV."""
import csv, io, os, re, subprocess, sys

vmm = os.environ["VMM"]
failed = 0


def check(ok, what):
    global failed
    print(("ok    " if ok else "FAIL  ") + what)
    failed += 0 if ok else 1


# perf: "%*s " (KVM_EVENT_NAME_LEN 40) "%10s " "%9s " "%9s " "%11s " "%11s " "%16s "
HEADER = ("%40s %10s %9s %9s %11s %11s %16s " %
          ("VM-EXIT", "Samples", "Samples%", "Time%", "Min Time", "Max Time", "Avg time"))
# perf: "%*s " "%10llu " "%8.2f%% " "%8.2f%% " "%9.2fus " "%9.2fus " "%9.2fus ( +-%7.2f%% )"
F = r"[ \d]{0,8}\d\.\d\d"
ROW = re.compile(r"^(?P<name>[ A-Z_0-9]{40}) (?P<n>[ \d]{9}\d) (?P<sp> ?" + F + r")% (?P<tp> ?" + F +
                 r")% (?P<min>[ \d]{0,5}\d\.\d\d)us (?P<max>[ \d]{0,5}\d\.\d\d)us "
                 r"(?P<avg>[ \d]{0,5}\d\.\d\d)us \( \+-(?P<rel>[ \d]{0,3}\d\.\d\d)% \)$")
FOOTER = re.compile(r"^Total Samples:(\d+), Total events handled time:(\d+\.\d\d)us\.$")


def perf_tables(err):
    """Each cell's table: (rows, footer) from the stderr text."""
    out, lines = [], err.split("\n")
    for i, l in enumerate(lines):
        if l == HEADER:
            check(lines[i - 2] == "Analyze events for all VMs, all VCPUs:" and lines[i - 1] == ""
                  and lines[i + 1] == "", "the header is perf's, between perf's blank lines")
            j, rows = i + 2, []
            while lines[j] != "":
                m = ROW.match(lines[j])
                check(m is not None, f"row matches perf's format: {lines[j]!r}")
                rows.append(m)
                j += 1
            m = FOOTER.match(lines[j + 1])
            check(m is not None and len(lines[j + 1]) > 0, f"footer is perf's: {lines[j + 1]!r}")
            out.append((rows, m))
    return out


args = ["--mmu=shadow,ept", "--workload=forkwait", "--param", "iters=40", "--report=perf"]
for sort in ("sample", "time"):
    r = subprocess.run([vmm] + args + ["--sort=" + sort], capture_output=True, text=True, check=True)
    data = list(csv.DictReader(io.StringIO(r.stdout)))
    tables = perf_tables(r.stderr)
    check(len(tables) == 2, f"--sort={sort}: one perf table per cell ({len(tables)})")
    for row, (lines, foot) in zip(data, tables):
        name = lambda m: m["name"].strip()
        n = [int(m["n"]) for m in lines]
        total = sum(n)
        check(foot and int(foot.group(1)) == total == int(row["exits"]),
              f"{row['mmu']}: Total Samples = sum of Samples = the CSV's exits ({total})")
        for m in lines:
            col = "exit_" + name(m).lower()
            if col in row:
                check(int(m["n"]) == int(row[col]), f"{row['mmu']}: {name(m)} samples = {col}")
            lo, hi, avg = float(m["min"]), float(m["max"]), float(m["avg"])
            check(lo <= avg <= hi, f"{row['mmu']}: {name(m)}: Min <= Avg <= Max")
        check(abs(sum(float(m["sp"]) for m in lines) - 100) < 0.05 * len(lines),
              f"{row['mmu']}: Samples% adds up to 100")
        if sort == "sample":
            check(n == sorted(n, reverse=True), f"{row['mmu']}: sorted by samples")
        else:
            t = [float(m["tp"]) for m in lines]
            check(t == sorted(t, reverse=True), f"{row['mmu']}: sorted by time")
    check(re.search(r"^Faults: hidden \d+, true \d+, trace \d+; guest #PF \d+$", r.stderr, re.M)
          is not None, "the fault split has its own line")
    check(re.search(r"^Time: runtime .* exit \d+\.\d\d%$", r.stderr, re.M) is not None,
          "the time breakdown has its own line")

# Shadow forkwait: #PF exits do varying handler work, so their spread is real.
shadow = perf_tables(subprocess.run([vmm] + args, capture_output=True, text=True).stderr)[0][0]
nmi = [m for m in shadow if m["name"].strip() == "EXCEPTION_NMI"]
check(len(nmi) == 1 and float(nmi[0]["min"]) < float(nmi[0]["max"]) and float(nmi[0]["rel"]) > 0,
      "shadow EXCEPTION_NMI exits vary in cost: Min < Max, spread > 0")
r = subprocess.run([vmm, "--sort=avg"], capture_output=True, text=True)
check(r.returncode == 2 and len(r.stderr.splitlines()) == 1, "--sort=avg: one line, status 2")
print("all checks passed" if not failed else f"{failed} checks failed")
sys.exit(1 if failed else 0)
