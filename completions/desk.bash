# bash completion for the desk tools: desk-case, desk-identify, desk-reply,
# desk-route, desk-webhook. The candidates come from the tool itself
# ("TOOL __complete WORD..."), out of the same tables as its --help and its
# option parser, so they cannot drift from what it takes: commands, options,
# statuses, channel types, connectors, and the store's channels and cases.
# One file, installed under each tool's name so that bash-completion's
# on-demand loader finds it for any of them.

_desk() {
	local cur=${COMP_WORDS[COMP_CWORD]} line i w strip=
	local -a words=() found

	# bash splits --opt=value at '=' (COMP_WORDBREAKS): the tool wants it whole.
	for ((i = 1; i <= COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if ((${#words[@]})) && [[ $w == = && ${words[-1]} == --* && ${words[-1]} != *=* ]]; then
			words[-1]+==
		elif ((${#words[@]})) && [[ ${COMP_WORDS[i - 1]} == = && ${words[-1]} == --*= ]]; then
			words[-1]+=$w
		else
			words+=("$w")
		fi
	done
	# Then bash replaces only what follows the '=' (or the '=' itself).
	[[ $cur == = || ${COMP_WORDS[COMP_CWORD - 1]} == = ]] && strip=1
	[[ $cur == = ]] && cur=
	COMPREPLY=()
	while IFS= read -r line; do
		case $line in
		:file | :dir)
			compopt -o filenames 2> /dev/null
			if [[ $line == :dir ]]; then mapfile -t found < <(compgen -d -- "$cur")
			else mapfile -t found < <(compgen -f -- "$cur"); fi
			COMPREPLY+=("${found[@]}") ;;
		*)
			line=${line%%$'\t'*}
			if [[ $strip ]]; then
				line=${line#*=}
				[[ ${COMP_WORDS[COMP_CWORD]} == = ]] && line="=$line"
			fi
			COMPREPLY+=("$line") ;;
		esac
	done < <("${COMP_WORDS[0]}" __complete "${words[@]}" 2> /dev/null)
}

complete -F _desk desk-case desk-identify desk-reply desk-route desk-webhook
