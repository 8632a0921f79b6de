# bash completion for desk-webhook

_desk_webhook_channels() {
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

_desk_webhook() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local words=() i common="-s --store -h --help -V --version"
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-s | --store) ((i++)) ;;
		-*) ;;
		*) words+=("${COMP_WORDS[i]}") ;;
		esac
	done
	case $prev in
	-s | --store) COMPREPLY=($(compgen -d -- "$cur")); return ;;
	--connector) COMPREPLY=($(compgen -W "custom chat2desk blip" -- "$cur")); return ;;
	--type) COMPREPLY=($(compgen -W "async sync" -- "$cur")); return ;;
	--url) return ;;
	esac
	case ${#words[@]}:${words[0]-}:${words[1]-} in
	0::) COMPREPLY=($(compgen -W "channel $common" -- "$cur")) ;;
	1:channel:) COMPREPLY=($(compgen -W "add list show rm" -- "$cur")) ;;
	2:channel:add | 3:channel:add)
		COMPREPLY=($(compgen -W "--connector --type --url --inactive $common" -- "$cur")) ;;
	2:channel:show | 2:channel:rm)
		COMPREPLY=($(compgen -W "$(_desk_webhook_channels)" -- "$cur")) ;;
	esac
}
complete -F _desk_webhook desk-webhook
