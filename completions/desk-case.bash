# bash completion for desk-case

# The store the command line points at: -s DIR, else $DESK_STORE, else XDG.
_desk_store() {
	local i
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-s | --store) echo "${COMP_WORDS[i + 1]}"; return ;;
		--store=*) echo "${COMP_WORDS[i]#--store=}"; return ;;
		esac
	done
	echo "${DESK_STORE:-${XDG_DATA_HOME:-$HOME/.local/share}/desk}"
}

_desk_channels() {
	local f store
	store=$(_desk_store)
	for f in "$store"/channels/*.json; do
		[[ -e $f ]] || continue
		f=${f##*/}
		echo "${f%.json}"
	done
}

_desk_case() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local cmd= i common="-s --store -h --help -V --version"
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-s | --store) ((i++)) ;;
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done
	case $prev in
	-s | --store) COMPREPLY=($(compgen -d -- "$cur")); return ;;
	--channel) COMPREPLY=($(compgen -W "$(_desk_channels)" -- "$cur")); return ;;
	--status) COMPREPLY=($(compgen -W "open pending closed" -- "$cur")); return ;;
	--user | --user-custom-id | --limit | --assignee | --team | --subject | --field)
		return ;;
	esac
	case $cmd in
	"")
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$common" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "list show set merge fsck" -- "$cur") \
				$(compgen -f -- "$cur"))
		fi ;;
	list) COMPREPLY=($(compgen -W "--user --channel --user-custom-id --status
		--active-chats --merged --limit $common" -- "$cur")) ;;
	set) COMPREPLY=($(compgen -W "--status --assignee --team --subject --field
		$common" -- "$cur")) ;;
	fsck) COMPREPLY=($(compgen -W "--repair $common" -- "$cur")) ;;
	show | merge) COMPREPLY=($(compgen -W "$common" -- "$cur")) ;;
	*) COMPREPLY=($(compgen -f -- "$cur")) ;;
	esac
}
complete -F _desk_case desk-case
