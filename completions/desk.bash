# bash completion for the desk tools: desk-case, desk-identify, desk-reply,
# desk-route, desk-webhook. One file, installed under each tool's name so that
# bash-completion's on-demand loader finds it for any of them.

# The store the command line names: -s DIR, else $DESK_STORE, else XDG.
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
	local f
	for f in "$(_desk_store)"/channels/*.json; do
		[[ -e $f ]] || continue
		f=${f##*/}
		echo "${f%.json}"
	done
}

# Sets _desk_words to the words before the cursor that are not options or
# their arguments; $1 lists the options that take an argument.
_desk_words() {
	local i
	_desk_words=()
	for ((i = 1; i < COMP_CWORD; i++)); do
		case " -s --store $1 " in
		*" ${COMP_WORDS[i]} "*) ((i++)); continue ;;
		esac
		[[ ${COMP_WORDS[i]} == -* ]] || _desk_words+=("${COMP_WORDS[i]}")
	done
}

# Completes the values of options every tool shares; 0 when it did.
_desk_common_values() {
	case $prev in
	-s | --store) COMPREPLY=($(compgen -d -- "$cur")); return 0 ;;
	--channel) COMPREPLY=($(compgen -W "$(_desk_channels)" -- "$cur")); return 0 ;;
	esac
	return 1
}

_desk_common="-s --store -h --help -V --version"

_desk_case() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	_desk_common_values && return
	case $prev in
	--status) COMPREPLY=($(compgen -W "open pending closed" -- "$cur")); return ;;
	--user | --user-custom-id | --limit | --assignee | --team | --subject | --field)
		return ;;
	esac
	_desk_words "--user --channel --user-custom-id --status --limit --assignee
		--team --subject --field"
	case ${_desk_words[0]-} in
	"")
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$_desk_common" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "list show set merge fsck compact" -- "$cur") \
				$(compgen -f -- "$cur"))
		fi ;;
	list) COMPREPLY=($(compgen -W "--user --channel --user-custom-id --status
		--active-chats --active-only --merged --limit $_desk_common" -- "$cur")) ;;
	set) COMPREPLY=($(compgen -W "--status --assignee --team --subject --field
		$_desk_common" -- "$cur")) ;;
	fsck) COMPREPLY=($(compgen -W "--repair $_desk_common" -- "$cur")) ;;
	show | merge | compact) COMPREPLY=($(compgen -W "$_desk_common" -- "$cur")) ;;
	*) COMPREPLY=($(compgen -f -- "$cur")) ;;
	esac
}

_desk_identify() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local args="--email --phone --channel --user-custom-id --name --company --field --ttl"
	_desk_common_values && return
	case " $args " in *" $prev "*) return ;; esac
	_desk_words "$args"
	case ${_desk_words[0]-}:${_desk_words[1]-} in
	:)
		if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$_desk_common" -- "$cur"))
		else COMPREPLY=($(compgen -W "code verify user" -- "$cur") $(compgen -f -- "$cur")); fi ;;
	code:*) COMPREPLY=($(compgen -W "--email --phone --channel --user-custom-id --name
		--company --field --ttl $_desk_common" -- "$cur") $(compgen -f -- "$cur")) ;;
	verify:*) COMPREPLY=($(compgen -W "--channel --user-custom-id $_desk_common" -- "$cur")) ;;
	user:) COMPREPLY=($(compgen -W "show update link unlink" -- "$cur")) ;;
	user:update) COMPREPLY=($(compgen -W "--email --phone --name --company --field
		$_desk_common" -- "$cur")) ;;
	*) COMPREPLY=($(compgen -f -- "$cur")) ;;
	esac
}

_desk_reply() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local args="--case --staff --attach --user --channel"
	_desk_common_values && return
	case " $args " in *" $prev "*) return ;; esac
	_desk_words "$args"
	if [[ ${_desk_words[0]-} == outbox ]]; then
		COMPREPLY=($(compgen -W "--all $_desk_common" -- "$cur"))
	elif [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "--case --staff --api --attach --reopen --as-user
			--user --channel $_desk_common" -- "$cur"))
	elif ((${#_desk_words[@]} == 0)); then
		COMPREPLY=($(compgen -W "outbox" -- "$cur") $(compgen -f -- "$cur"))
	else
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}

# The connectors, from desk-webhook's own table.
_desk_connectors() {
	desk-webhook channel connectors 2> /dev/null |
		sed -n 's/^{"connector":"\([^"]*\)".*/\1/p'
}

_desk_route() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	_desk_common_values && return
	case $prev in
	-r | --rules) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	esac
	_desk_words "-r --rules"
	case ${_desk_words[0]-} in
	"")
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "-r --rules --dry-run --explain $_desk_common" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "check list tick" -- "$cur") $(compgen -f -- "$cur"))
		fi ;;
	check | list) COMPREPLY=($(compgen -W "-r --rules $_desk_common" -- "$cur")) ;;
	tick) COMPREPLY=($(compgen -W "-r --rules --dry-run --explain $_desk_common" -- "$cur")) ;;
	*) COMPREPLY=($(compgen -f -- "$cur")) ;;
	esac
}

_desk_webhook() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local args="--connector --type --url --api-url --hook-url --token-file
		--secret-file --operator-id"
	local set="--type --url --api-url --hook-url --token-file --secret-file
		--operator-id --service-messages --no-service-messages --allow-private
		--no-allow-private --activate"
	_desk_common_values && return
	case $prev in
	--connector) COMPREPLY=($(compgen -W "$(_desk_connectors)" -- "$cur")); return ;;
	--type) COMPREPLY=($(compgen -W "async sync" -- "$cur")); return ;;
	--token-file | --secret-file | --headers) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--url | --api-url | --hook-url | --operator-id | --header) return ;;
	--per-host | --in-flight | --id | --timestamp | --signature) return ;;
	--channel) COMPREPLY=($(compgen -W "$(_desk_channels)" -- "$cur")); return ;;
	--listen | --max-body | --max-connections | --timeout | --emit-buffer) return ;;
	--port-file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	esac
	_desk_words "$args --per-host --in-flight --headers --id --timestamp --signature --channel --header --listen --port-file --max-body --max-connections --timeout --emit-buffer"
	case ${#_desk_words[@]}:${_desk_words[0]-}:${_desk_words[1]-} in
	0::) COMPREPLY=($(compgen -W "channel recv serve send outbox dead sign verify $_desk_common" -- "$cur")) ;;
	1:serve:) COMPREPLY=($(compgen -W "--listen --port-file --max-body --max-connections --timeout --emit-buffer $_desk_common" -- "$cur")) ;;
	*:recv:*)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--channel --header --lines --cgi $_desk_common" -- "$cur"))
		else
			COMPREPLY=($(compgen -f -- "$cur"))
		fi ;;
	1:send:) COMPREPLY=($(compgen -W "--drain --per-host --in-flight $_desk_common" -- "$cur") $(compgen -f -- "$cur")) ;;
	1:outbox:) COMPREPLY=($(compgen -W "--all $_desk_common" -- "$cur")) ;;
	1:dead:) COMPREPLY=($(compgen -W "list retry" -- "$cur")) ;;
	2:dead:retry) COMPREPLY=($(compgen -W "--all" -- "$cur")) ;;
	1:sign:) COMPREPLY=($(compgen -W "--secret-file --id --timestamp $_desk_common" -- "$cur")) ;;
	1:verify:) COMPREPLY=($(compgen -W "--secret-file --headers --id --timestamp --signature $_desk_common" -- "$cur")) ;;
	1:channel:) COMPREPLY=($(compgen -W "add set list show rm activate deactivate
		secret keygen connectors" -- "$cur")) ;;
	2:channel:add | 3:channel:add)
		[[ $cur == -* ]] && COMPREPLY=($(compgen -W "--connector $set --inactive
			$_desk_common" -- "$cur")) ;;
	3:channel:set)
		COMPREPLY=($(compgen -W "$set $_desk_common" -- "$cur")) ;;
	2:channel:show | 2:channel:rm | 2:channel:set | 2:channel:activate | \
	2:channel:deactivate | 2:channel:secret | 2:channel:keygen)
		COMPREPLY=($(compgen -W "$(_desk_channels)" -- "$cur")) ;;
	esac
}

complete -F _desk_case desk-case
complete -F _desk_identify desk-identify
complete -F _desk_reply desk-reply
complete -F _desk_route desk-route
complete -F _desk_webhook desk-webhook
