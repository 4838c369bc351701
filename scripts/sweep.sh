#!/usr/bin/env bash
# Run a vmm grid one cell per job with GNU parallel, on this machine's
# cores or on several machines, and merge the rows back in grid order.
#
#   scripts/sweep.sh [options] -- VMM-ARGS...
#
#   -j N          jobs at once on each machine (parallel's default: one per core)
#   -S HOSTS      machines to run on, as parallel -S takes them: "host1,host2",
#                 ":" is this machine ("-S :,host1"); each needs the same vmm at
#                 the same path (a shared checkout, or the same install)
#   --slf FILE    the machines, one a line (parallel --sshloginfile)
#   --out DIR     where the cells' outputs, the cell list and the job log go
#                 (default: sweep)
#   --joblog FILE parallel's job log (default: DIR/joblog)
#   --resume      keep the cells that finished in an earlier run into the same
#                 DIR, run the rest (the ones that failed or never ran)
#   --vmm PATH    the vmm to run (default: $VMM, else build/bin/vmm)
#
# The merged CSV goes to stdout and to DIR/merged.csv: the header, then one
# row per cell in grid order, identical to what `vmm VMM-ARGS` prints in one
# process apart from wall_s. Each cell's report is in DIR/cells/1/N/stderr.
# Exit status: 0, 1 when a cell failed (none merged), 2 for bad usage.
set -euo pipefail

die() { echo "sweep: $*" >&2; exit 2; }

here=$(cd "$(dirname "$0")/.." && pwd)
vmm=${VMM:-$here/build/bin/vmm}
out=sweep
joblog=
resume=0
par=()
while [ $# -gt 0 ]; do
	case $1 in
	-j) [ $# -ge 2 ] || die "-j needs a value"; par+=(-j "$2"); shift 2 ;;
	-S) [ $# -ge 2 ] || die "-S needs a value"; par+=(-S "$2"); shift 2 ;;
	--slf) [ $# -ge 2 ] || die "--slf needs a file"; par+=(--slf "$2"); shift 2 ;;
	--out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
	--joblog) [ $# -ge 2 ] || die "--joblog needs a file"; joblog=$2; shift 2 ;;
	--resume) resume=1; shift ;;
	--vmm) [ $# -ge 2 ] || die "--vmm needs a path"; vmm=$2; shift 2 ;;
	--) shift; break ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option '$1' (the vmm arguments go after --)" ;;
	esac
done
[ $# -gt 0 ] || die "no vmm arguments (usage: scripts/sweep.sh [options] -- VMM-ARGS...)"
for a in "$@"; do
	case $a in
	--cell|--cell=*|--list-cells|--no-header|--format|--format=*)
		die "'$a' is the sweep's to set, not an argument to pass" ;;
	esac
done
command -v parallel >/dev/null || die "GNU parallel is not installed (Debian: parallel)"
[ -x "$vmm" ] || die "no vmm at $vmm (build first, or --vmm PATH)"
case $vmm in /*) ;; *) vmm=$PWD/$vmm ;; esac	# remote shells start elsewhere
joblog=${joblog:-$out/joblog}

mkdir -p "$out"
# The cell list also validates the whole grid before any job starts.
"$vmm" "$@" --list-cells > "$out/cells.tsv"
n=$(wc -l < "$out/cells.tsv")
[ "$n" -gt 0 ] || die "the grid has no cells"
if [ "$resume" = 1 ]; then
	par+=(--resume-failed)
else
	rm -rf "$out/cells"
	rm -f "$joblog"
fi

echo "sweep: $n cells, job log $joblog" >&2
status=0
cut -f1 "$out/cells.tsv" | parallel --joblog "$joblog" --results "$out/cells" \
	"${par[@]}" -q "$vmm" "$@" --cell={} || status=$?
if [ "$status" -ne 0 ]; then
	echo "sweep: $status cell(s) failed, see $joblog and $out/cells/1/N/stderr:" >&2
	awk -F'\t' 'NR > 1 && ($7 != 0 || $8 != 0) { print "  " $NF }' "$joblog" >&2
	exit 1
fi

# Merge in grid order: one header (the same in every cell's output, so
# every machine ran the same columns), then each cell's row, checked
# against its cell column.
cut -f1 "$out/cells.tsv" | while read -r i; do
	f=$out/cells/1/$i/stdout
	[ -s "$f" ] || { echo "sweep: cell $i: no output in $f" >&2; exit 1; }
	printf '%s\t%s\n' "$i" "$f"
done | awk -F'\t' '
	{
		idx = $1; file = $2; lines = 0
		while ((getline line < file) > 0) {
			lines++
			if (lines == 1) {
				if (header == "") {
					header = line
					nf = split(line, h, ",")
					for (k = 1; k <= nf; k++)
						if (h[k] == "cell")
							col = k
					print header
				} else if (line != header) {
					printf "sweep: cell %s: a different CSV header\n", idx > "/dev/stderr"
					exit 1
				}
				continue
			}
			split(line, v, ",")
			if (!col || v[col] != idx) {
				printf "sweep: cell %s: its row says cell %s\n", idx, v[col] > "/dev/stderr"
				exit 1
			}
			print line
		}
		close(file)
		if (lines != 2) {
			printf "sweep: cell %s: %d lines, expected a header and a row\n", idx, lines > "/dev/stderr"
			exit 1
		}
	}' > "$out/merged.csv.tmp"
mv "$out/merged.csv.tmp" "$out/merged.csv"
cat "$out/merged.csv"
