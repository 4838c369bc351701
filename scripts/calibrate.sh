#!/usr/bin/env bash
# scripts/calibrate.sh - the real loops on this host beside memvirt's model
# of them, one line per figure. A figure, never a test.
#
# This host is an AMD EPYC Zen 4 that is itself a KVM guest: its loops run
# under nested paging, so the model's matching configuration is
# --cpu=zen4 --mmu=ept, with host pages 4k and 2m bracketing whatever the
# unknown L0 host backs this guest with.
#
# Method:
#  - Measured: each real loop runs 3 times; the median is kept. Times are
#    also given in cycles, at the clock a chain of dependent adds measures
#    right before and after (the machine is shared: cycles are steadier
#    than nanoseconds).
#  - Kernel paths: getppid (one system call) and touch (one demand-zero
#    fault per page, 4096 pages a round) run alone, pinned, beside
#    memvirt's getppid and touch workloads; the kernel_cpi line says what
#    the getppid figure implies for the zen4 profile's kernel_cpi, and
#    forkwait is modeled once more with that same-day fit (a copy of the
#    profile, zen4-fit, differing in kernel_cpi alone) beside the profile's
#    own figure, in cycles at the clock measured here.
#  - Modeled: memvirt runs each configuration at two lengths (memsweep 1
#    and 3 passes, forkwait ITERS and 2 x ITERS) and the figure is the
#    difference divided by the extra iterations, so boot, demand faults
#    and the checksum pass cancel out, as they are outside the real loop's
#    timed region.
#
#   scripts/calibrate.sh [OUT]     (default: results/calibration.txt)
#   CALIBRATE_QUICK=1              fewer iterations, for a smoke run
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-results/calibration.txt}

scripts/setup.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
cc -O2 -o build/calibrate-loops scripts/calibrate/loops.c
L=build/calibrate-loops
vmm=build/bin/vmm

S=33554432			# DESIGN's memsweep array, 32 MiB
N=640000000			# 20 passes, as DESIGN's loop
FW=20000			# real forkwait iterations
MI=1000				# model forkwait iterations (and 2x)
GP=200000			# model getppid calls (and 2x); the real loop 10x
TP=4096				# model touch pages (and 2x)
if [ -n "${CALIBRATE_QUICK:-}" ]; then N=64000000; FW=2000; MI=200; GP=20000; fi

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { awk -v k="$1" '$1 == k {print $2}'; }
ghz() { $L clock | field clock_ghz; }
# run3 CMD... KEY: the median of KEY over 3 runs of CMD
run3() {
	local key=${*: -1} cmd=("${@:1:$#-1}")
	for _ in 1 2 3; do "${cmd[@]}" | field "$key"; done | median
}

echo "calibrate: measuring the real loops on this host" >&2
g0=$(ghz)
ms4=$(run3 $L memsweep $S 4k $N memsweep_ns_per_iter)
ms2=$(run3 $L memsweep $S 2m $N memsweep_ns_per_iter)
huge=$($L memsweep $S 2m 1000 | field memsweep_anon_huge_kb)
l1=$(run3 $L memsweep 16384 4k $N memsweep_ns_per_iter)
st=$(run3 $L stores 262144 $((N / 4)) stores_ns_per_store)
fw=$($L forkwait $FW)
# The same loop pinned to one CPU: parent and child then share it, as they
# do in memvirt's one vCPU, with no cross-CPU wakeup (an IPI, and on this
# nested-paging guest an idle vCPU's HLT exit) in the fork-to-wait path.
fwp=$(taskset -c 0 $L forkwait $FW | field forkwait_us_per_iter)
# Two kernel paths alone: the system call with the least work (getppid)
# and the demand-zero fault (memvirt's touch workload), on 4096 pages a
# round so that the frames recycle (freed frames this guest reports to
# its host would come back with a host fault each).
gp=$(run3 taskset -c 0 $L getppid $((GP * 10)) getppid_ns_per_call)
tp=$(run3 taskset -c 0 $L touch 4096 21 touch_ns_per_page)
g1=$(ghz)
clk=$(echo "$g0 $g1" | awk '{printf "%.3f", ($1 + $2) / 2}')
fw_us=$(echo "$fw" | field forkwait_us_per_iter)
fw_pp=$(echo "$fw" | field forkwait_parent_faults_per_iter)
fw_cp=$(echo "$fw" | field forkwait_child_faults_per_iter)

echo "calibrate: running the model (zen4, ept)" >&2
csv=$(mktemp)
pdir=$(mktemp -d)		# the same-day fitted profile (zen4-fit)
trap 'rm -f "$csv"; rm -rf "$pdir"' EXIT
# forkwait_model CPU: the forkwait runs of two lengths, CSV rows
forkwait_model() {
	for it in $MI $((2 * MI)); do
		$vmm --cpu="$1" --mmu=ept --pages=4k --host-pages=4k,2m --workload=forkwait \
			--param iters=$it --jobs=2 2>/dev/null | sed 1d
	done
}
for p in 1 3; do
	$vmm --cpu=zen4 --mmu=ept --pages=4k,2m --host-pages=4k,2m --workload=memsweep \
		--param size=$S --param passes=$p --jobs=2 2>/dev/null | sed 1d
done > "$csv.ms"
forkwait_model zen4 > "$csv.fw"
for it in $GP $((2 * GP)); do
	$vmm --cpu=zen4 --mmu=ept --pages=4k --host-pages=4k,2m --workload=getppid \
		--param iters=$it --jobs=2 2>/dev/null | sed 1d
done > "$csv.gp"
for n in $TP $((2 * TP)); do
	$vmm --cpu=zen4 --mmu=ept --pages=4k --host-pages=4k,2m --workload=touch \
		--param pages=$n --jobs=2 2>/dev/null | sed 1d
done > "$csv.tp"
hdr=$($vmm --cpu=zen4 --workload=fib --param n=1 2>/dev/null | sed -n 1p)

python3 - "$hdr" "$csv.ms" "$csv.fw" "$S" "$MI" "$csv.gp" "$GP" "$csv.tp" "$TP" <<'PY' > "$csv.model"
import csv, sys
hdr = sys.argv[1].split(',')
S, MI = int(sys.argv[4]), int(sys.argv[5])
def rows(path):
    return [dict(zip(hdr, r)) for r in csv.reader(open(path))]
ms, fw = rows(sys.argv[2]), rows(sys.argv[3])
def key(r): return (r['pages'], r['host_pages'])
def pick(rs, k, param):
    return sorted((r for r in rs if key(r) == k), key=lambda r: r['params'])
clock = None
for k in [('4k', '4k'), ('4k', '2m'), ('2m', '4k'), ('2m', '2m')]:
    a, b = [r for r in ms if key(r) == k and r['params'].endswith('passes=1')][0], \
           [r for r in ms if key(r) == k and r['params'].endswith('passes=3')][0]
    clock = float(a['runtime_s']) and float(a['cycles']) / float(a['runtime_s'])
    cyc = (float(b['cycles']) - float(a['cycles'])) / (2 * S)
    print('ms_cyc_%s_%s %.4f' % (k[0], k[1], cyc))
    print('ms_ns_%s_%s %.4f' % (k[0], k[1], cyc / clock * 1e9))
for h in ['4k', '2m']:
    rs = sorted((r for r in fw if r['host_pages'] == h), key=lambda r: int(r['forks']))
    a, b = rs[0], rs[1]
    n = int(b['forks']) - int(a['forks'])
    cyc = (float(b['cycles']) - float(a['cycles'])) / n
    print('fw_us_%s %.3f' % (h, cyc / clock * 1e6))
    print('fw_cyc_%s %.0f' % (h, cyc))
    print('fw_pf_%s %.3f' % (h, (int(b['guest_page_faults']) - int(a['guest_page_faults'])) / n))
    ch = (int(b['guest_page_faults_child']) - int(a['guest_page_faults_child'])) / n
    print('fw_pfc_%s %.3f' % (h, ch))
    print('fw_pfp_%s %.3f' % (h, (int(b['guest_page_faults']) - int(a['guest_page_faults'])) / n - ch))
# Per call / per page: the difference of two lengths. The touch figure
# leaves out the EPT violations of its first touches (the model backs a
# frame on its first use; the real loop reuses frames its host backs).
for path, n, name in [(sys.argv[6], int(sys.argv[7]), 'gp'), (sys.argv[8], int(sys.argv[9]), 'tp')]:
    rs = rows(path)
    for h in ['4k', '2m']:
        a, b = [r for r in rs if r['host_pages'] == h]
        d = lambda k: (float(b[k]) - float(a[k])) / n
        print('%s_cyc_%s %.2f' % (name, h, d('cycles') - (d('cycles_exit') if name == 'tp' else 0)))
        # the kernel's base cycles: what kernel_cpi scales
        print('%s_kern_%s %.2f' % (name, h, d('cycles_kernel') - d('cycles_syscall') - d('cycles_pf')))
        print('%s_insk_%s %.2f' % (name, h, d('insns_kernel')))
print('clock %.3f' % (clock / 1e9))
PY
m() { field "$1" < "$csv.model"; }
rm -f "$csv.ms" "$csv.fw" "$csv.gp" "$csv.tp"
kcpi=$(awk '$1 == "kernel_cpi" {print $3}' profiles/zen4.profile)
# The kernel_cpi that would make the modeled getppid take the measured
# cycles: its kernel base cycles scaled to what the rest leaves them.
kimp() {	# measured-cycles model-cycles model-kernel-cycles
	awk -v m="$1" -v c="$2" -v k="$3" -v K="$kcpi" 'BEGIN {printf "%.2f", K * (m - (c - k)) / k}'
}

kfit=$(kimp "$(awk -v a="$gp" -v c="$clk" 'BEGIN {print a * c}')" "$(m gp_cyc_4k)" "$(m gp_kern_4k)")
# forkwait once more on a copy of zen4 whose kernel_cpi is the same-day
# fit (a profile's name must match its file's): cycles per fork, the
# difference of the two lengths, per host page size
sed -e "s/^name\( *\)= zen4\b.*/name\1= zen4-fit/" \
    -e "s/^kernel_cpi\( *\)= [0-9.]*\(.*\)/kernel_cpi\1= $kfit   # calibrate.sh: fitted on this day's getppid/" \
	profiles/zen4.profile > "$pdir/zen4-fit.profile"
forkwait_model "$pdir/zen4-fit.profile" > "$csv.fit"
python3 - "$hdr" "$csv.fit" <<'PY' >> "$csv.model"
import csv, sys
rows = [dict(zip(sys.argv[1].split(','), r)) for r in csv.reader(open(sys.argv[2]))]
assert rows and all(r['cpu'] == 'zen4-fit' for r in rows), 'the fitted profile did not run'
for h in ['4k', '2m']:
    a, b = sorted((r for r in rows if r['host_pages'] == h), key=lambda r: int(r['forks']))
    print('fit_cyc_%s %.0f' % (h, (float(b['cycles']) - float(a['cycles'])) /
                               (int(b['forks']) - int(a['forks']))))
PY
rm -f "$csv.fit"
fw_kcyc=$(awk -v a="$fw_us" -v c="$clk" 'BEGIN {print a * c}')	# the real fork: us x GHz

{
	echo "# scripts/calibrate.sh on $(date -u +%Y-%m-%d), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
	echo "# measured: this host's real loops (median of 3), at the clock measured beside them"
	echo "# modeled: memvirt --cpu=zen4 --mmu=ept, per-iteration difference of two run lengths"
	echo "# memsweep 2M run: AnonHugePages ${huge} kB of 32768"
	printf '%-40s %12s %12s %12s %9s\n' figure measured "model h=4k" "model h=2m" "model/meas"
	row() {	# name measured model4 model2
		awk -v n="$1" -v a="$2" -v b="$3" -v c="$4" 'BEGIN {
			printf "%-40s %12.4g %12.4g %12.4g %9s\n", n, a, b, c,
				(a > 0 ? sprintf("%.2f-%.2f", (b < c ? b : c) / a, (b < c ? c : b) / a) : "-") }'
	}
	row "clock, GHz (model: zen4 profile)" "$clk" "$(m clock)" "$(m clock)"
	row "memsweep ns/iter, 4K guest pages" "$ms4" "$(m ms_ns_4k_4k)" "$(m ms_ns_4k_2m)"
	row "memsweep ns/iter, 2M guest pages" "$ms2" "$(m ms_ns_2m_4k)" "$(m ms_ns_2m_2m)"
	row "memsweep 4K/2M ratio" "$(awk -v a="$ms4" -v b="$ms2" 'BEGIN {print a / b}')" \
		"$(awk -v a="$(m ms_ns_4k_4k)" -v b="$(m ms_ns_2m_4k)" 'BEGIN {print a / b}')" \
		"$(awk -v a="$(m ms_ns_4k_2m)" -v b="$(m ms_ns_2m_2m)" 'BEGIN {print a / b}')"
	row "memsweep cycles/iter, 4K guest pages" "$(awk -v a="$ms4" -v c="$clk" 'BEGIN {print a * c}')" \
		"$(m ms_cyc_4k_4k)" "$(m ms_cyc_4k_2m)"
	row "memsweep cycles/iter, 2M guest pages" "$(awk -v a="$ms2" -v c="$clk" 'BEGIN {print a * c}')" \
		"$(m ms_cyc_2m_4k)" "$(m ms_cyc_2m_2m)"
	echo "# inputs the zen4 profile takes from this host (not model outputs):"
	printf '%-40s %12.4g\n' "L1-resident loop (16 KiB), cycles/iter" "$(awk -v a="$l1" -v c="$clk" 'BEGIN {print a * c}')"
	printf '%-40s %12.4g\n' "4097-stride stores, 256 KiB, cycles each" "$(awk -v a="$st" -v c="$clk" 'BEGIN {print a * c}')"
	printf '%-40s %12s (profile: %s)\n' "kernel_cpi getppid implies" "$kfit" "$kcpi"
	row "forkwait us per fork+exit+wait" "$fw_us" "$(m fw_us_4k)" "$(m fw_us_2m)"
	row "  the real loop pinned to one CPU" "$fwp" "$(m fw_us_4k)" "$(m fw_us_2m)"
	k() { awk -v a="$1" 'BEGIN {print a / 1000}'; }
	row "forkwait kcycles per fork (clock here)" "$fw_kcyc" "$(k "$(m fw_cyc_4k)")" "$(k "$(m fw_cyc_2m)")"
	row "  at kernel_cpi $kfit (fitted today)" "$fw_kcyc" "$(k "$(m fit_cyc_4k)")" "$(k "$(m fit_cyc_2m)")"
	row "getppid ns per call" "$gp" "$(awk -v c="$(m gp_cyc_4k)" -v g="$(m clock)" 'BEGIN {print c / g}')" \
		"$(awk -v c="$(m gp_cyc_2m)" -v g="$(m clock)" 'BEGIN {print c / g}')"
	row "touch ns per page (demand-zero #PF)" "$tp" "$(awk -v c="$(m tp_cyc_4k)" -v g="$(m clock)" 'BEGIN {print c / g}')" \
		"$(awk -v c="$(m tp_cyc_2m)" -v g="$(m clock)" 'BEGIN {print c / g}')"
	row "getppid cycles per call" "$(awk -v a="$gp" -v c="$clk" 'BEGIN {print a * c}')" "$(m gp_cyc_4k)" "$(m gp_cyc_2m)"
	row "touch cycles per page" "$(awk -v a="$tp" -v c="$clk" 'BEGIN {print a * c}')" "$(m tp_cyc_4k)" "$(m tp_cyc_2m)"
	row "forkwait page faults per iteration" "$(awk -v a="$fw_pp" -v b="$fw_cp" 'BEGIN {print a + b}')" \
		"$(m fw_pf_4k)" "$(m fw_pf_2m)"
	row "  of which the parent's" "$fw_pp" "$(m fw_pfp_4k)" "$(m fw_pfp_2m)"
	row "  of which the child's" "$fw_cp" "$(m fw_pfc_4k)" "$(m fw_pfc_2m)"
} | tee "$out"
