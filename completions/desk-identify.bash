# bash completion for desk-identify

_desk_identify_channels() {
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

_desk_identify() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local words=() i common="-s --store -h --help -V --version"
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-s | --store | --email | --phone | --channel | --user-custom-id | --name | \
		--company | --field | --ttl) ((i++)) ;;
		-*) ;;
		*) words+=("${COMP_WORDS[i]}") ;;
		esac
	done
	case $prev in
	-s | --store) COMPREPLY=($(compgen -d -- "$cur")); return ;;
	--channel) COMPREPLY=($(compgen -W "$(_desk_identify_channels)" -- "$cur")); return ;;
	--email | --phone | --user-custom-id | --name | --company | --field | --ttl) return ;;
	esac
	case ${words[0]-}:${words[1]-} in
	:)
		if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$common" -- "$cur"))
		else COMPREPLY=($(compgen -W "code verify user" -- "$cur") $(compgen -f -- "$cur")); fi ;;
	code:*) COMPREPLY=($(compgen -W "--email --phone --channel --user-custom-id --name
		--company --field --ttl $common" -- "$cur") $(compgen -f -- "$cur")) ;;
	verify:*) COMPREPLY=($(compgen -W "--channel --user-custom-id $common" -- "$cur")) ;;
	user:) COMPREPLY=($(compgen -W "show update link unlink" -- "$cur")) ;;
	user:update) COMPREPLY=($(compgen -W "--email --phone --name --company --field
		$common" -- "$cur")) ;;
	*) COMPREPLY=($(compgen -f -- "$cur")) ;;
	esac
}
complete -F _desk_identify desk-identify
