# bash completion for desk-reply

_desk_reply_channels() {
	local i f store=${DESK_STORE:-${XDG_DATA_HOME:-$HOME/.local/share}/desk}
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-s | --store) store=${COMP_WORDS[i + 1]} ;;
		--store=*) store=${COMP_WORDS[i]#--store=} ;;
		esac
	done
	for f in "$store"/channels/*.json; do
		[[ -e $f ]] || continue
		f=${f##*/}
		echo "${f%.json}"
	done
}

_desk_reply() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local i words=() common="-s --store -h --help -V --version"
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-s | --store | --case | --staff | --attach | --user | --channel) ((i++)) ;;
		-*) ;;
		*) words+=("${COMP_WORDS[i]}") ;;
		esac
	done
	case $prev in
	-s | --store) COMPREPLY=($(compgen -d -- "$cur")); return ;;
	--channel) COMPREPLY=($(compgen -W "$(_desk_reply_channels)" -- "$cur")); return ;;
	--case | --staff | --attach | --user) return ;;
	esac
	if [[ ${words[0]-} == outbox ]]; then
		COMPREPLY=($(compgen -W "--all $common" -- "$cur"))
	elif [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "--case --staff --api --attach --reopen --as-user
			--user --channel $common" -- "$cur"))
	elif ((${#words[@]} == 0)); then
		COMPREPLY=($(compgen -W "outbox" -- "$cur") $(compgen -f -- "$cur"))
	else
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}
complete -F _desk_reply desk-reply
