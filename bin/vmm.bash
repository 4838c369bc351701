# bash completion for vmm (memvirt). Names come from the vmm being
# completed, at completion time: `vmm --list` for MMUs, workloads, CPU
# profiles and --param keys, `vmm --help` for the options.

# _vmm_list SECTION: the names of a `vmm --list` section ("MMUs",
# "Workloads", "CPU profiles"), or every --param key with SECTION=params.
_vmm_list()
{
	"$1" --list 2>/dev/null | awk -v want="$2" '
		/^[^ ]/ { sec = $0; sub(/( \(.*\))?:$/, "", sec); next }
		want == "params" && /^      [^ ]/ { print $1 "="; next }
		want != "params" && sec == want && /^  [^ ]/ { print $1 }' | sort -u
}

_vmm()
{
	local cur prev vmm=${COMP_WORDS[0]} words opt val pre
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()

	# bash splits "--mmu=ept" into "--mmu" "=" "ept" (COMP_WORDBREAKS).
	if [[ $cur == = ]]; then
		opt=$prev
		cur=
	elif [[ $prev == = && $COMP_CWORD -ge 2 ]]; then
		opt=${COMP_WORDS[COMP_CWORD - 2]}
	elif [[ $prev == --param ]]; then
		COMPREPLY=($(compgen -W "$(_vmm_list "$vmm" params)" -- "$cur"))
		compopt -o nospace 2>/dev/null
		return 0
	else
		opt=
	fi

	if [[ -n $opt ]]; then
		case $opt in
		--mmu) words=$(_vmm_list "$vmm" MMUs) ;;
		--workload) words=$(_vmm_list "$vmm" Workloads) ;;
		--cpu) words=$(_vmm_list "$vmm" "CPU profiles") ;;
		--pages|--host-pages) words="4k 2m 1g" ;;
		--l1) words=$(_vmm_list "$vmm" "L1 personalities") ;;
		--l1-mmu) words="none ept shadow" ;;
		--format) words="csv json kvm-stat" ;;
		--report) words="summary perf" ;;
		--sort) words="sample time" ;;
		--sample) words="off on" ;;
		--sample-warming) words="none caches" ;;
		*) return 0 ;;
		esac
		# Comma lists: complete the item after the last comma.
		pre=
		if [[ $cur == *,* ]]; then
			pre=${cur%,*},
			cur=${cur##*,}
		fi
		COMPREPLY=($(compgen -P "$pre" -W "$words" -- "$cur"))
		if [[ $opt == --cpu && ${#COMPREPLY[@]} -eq 0 ]]; then
			COMPREPLY=($(compgen -f -- "$cur"))
		fi
		return 0
	fi

	if [[ $cur == -* ]]; then
		words=$("$vmm" --help 2>/dev/null |
			sed -n 's/^  \(--[a-z-]*\)\(=\)\{0,1\}.*/\1\2/p')
		COMPREPLY=($(compgen -W "$words" -- "$cur"))
		[[ ${COMPREPLY[0]} == *= ]] && compopt -o nospace 2>/dev/null
	fi
	return 0
}
complete -F _vmm vmm
