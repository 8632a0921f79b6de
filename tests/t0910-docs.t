#!/bin/sh
# Docs are part of the feature: every tool has a man page (lint clean) and
# completions that work, and the usage text names what the page documents.
. "$(dirname "$0")/lib.sh"

run mandoc -Tlint -Wwarning "$TOP"/man/*.[1-8]
rc 0 "mandoc -Tlint: no warnings"
is "$(cat $OUT $ERR)" "" "mandoc -Tlint: silent"

for tool in $(ls $DESK_BIN); do
	test -f "$TOP/man/$tool.1"; ok $? "$tool has man/$tool.1"
	grep -q "^complete -F _[a-z_]* $tool\$" "$TOP/completions/desk.bash"
	ok $? "$tool has a bash completion"
	grep -q "^#compdef.* $tool\( \|\$\)" "$TOP/completions/_desk"
	ok $? "$tool has a zsh completion"
	# Every command word in the SYNOPSIS appears in the usage text.
	$tool -h > $T/usage
	for w in $(awk '/^\.Sh SYNOPSIS/ { s = 1; next } /^\.Sh / { s = 0 } s && /^\.Cm / { print $2 }' "$TOP/man/$tool.1" | sort -u); do
		grep -q -- "$w" $T/usage; ok $? "$tool: usage mentions '$w' like the man page"
	done
done

bash -n "$TOP/completions/desk.bash"; ok $? "the bash completions parse"
zsh -n "$TOP/completions/_desk"; ok $? "the zsh completions parse"
# zsh, driven through its completion system: the function for each tool loads.
run zsh -f -c "fpath=($TOP/completions \$fpath); autoload -Uz compinit; compinit -u -d $T/zcomp;
	for t in desk-case desk-identify desk-reply desk-route desk-webhook; do print \$t=\${_comps[\$t]}; done"
is "$(tr '\n' ' ' < $OUT)" "desk-case=_desk desk-identify=_desk desk-reply=_desk desk-route=_desk desk-webhook=_desk " \
	"zsh: compinit binds every tool to _desk"

# bash completion, driven as bash would.
with_channel app
with_channel forum
complete_words() { # complete_words "desk-case list --sta" -> the candidates
	(cd $T/empty-dir && bash -c '
		source "$1/completions/desk.bash"
		COMP_WORDS=($2)
		case "$2" in *" ") COMP_WORDS+=("") ;; esac
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		fn=$(complete -p "${COMP_WORDS[0]}" | sed "s/.*-F \([^ ]*\).*/\1/")
		$fn
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$TOP" "$1")
}
mkdir -p $T/empty-dir
desk-webhook -h > $T/usage-webhook
is "$(complete_words 'desk-case li')" "list " "bash: desk-case li<TAB>"
is "$(complete_words 'desk-case list --sta')" "--status " "bash: an option of list"
is "$(complete_words 'desk-case list --status p')" "pending " "bash: a status"
is "$(complete_words 'desk-case list --channel ')" "app forum " "bash: channel names from the store"
is "$(complete_words "desk-case -s $DESK_STORE list --channel f")" "forum " "bash: channel names from the -s store"
is "$(complete_words 'desk-case fsck --')" "--help --repair --store --version " "bash: fsck options"
is "$(complete_words 'desk-case comp')" "compact " "bash: desk-case comp<TAB>"
is "$(complete_words 'desk-webhook channel ')" "activate add connectors deactivate keygen list rm secret set show " "bash: desk-webhook channel commands"
is "$(complete_words 'desk-webhook channel add x --connector ')" "$(desk-webhook channel connectors | jq -r .connector | sort | tr '\n' ' ')" \
	"bash: the connectors, from desk-webhook's table"
is "$(complete_words 'desk-webhook channel add x --api')" "--api-url " "bash: channel add options"
is "$(complete_words 'desk-webhook channel set app --no-')" "--no-allow-private --no-service-messages " "bash: channel set options"
is "$(complete_words 'desk-webhook channel activate ')" "app forum " "bash: channel names for activate"
# The man page lists the connectors of the table, in its order.
is "$(sed -n 's/^\.Op Fl \\-connector Cm \(.*\)$/\1/p' "$TOP/man/desk-webhook.1" | sed 's/ | /|/g')" \
	"$(desk-webhook channel connectors | jq -r .connector | paste -sd '|')" "desk-webhook(1): the connectors of the table"
like $T/usage-webhook "--connector $(desk-webhook channel connectors | jq -r .connector | paste -sd '|')" "desk-webhook -h: the connectors of the table"
is "$(complete_words 'desk-webhook channel show ')" "app forum " "bash: desk-webhook channel names"
is "$(complete_words 'desk-webhook channel add x --type ')" "async sync " "bash: channel types"
is "$(complete_words 'desk-webhook se')" "send serve " "bash: desk-webhook se<TAB>"
is "$(complete_words 'desk-webhook serve --max-')" "--max-body --max-connections " "bash: desk-webhook serve options"
is "$(complete_words 'desk-identify us')" "user " "bash: desk-identify us<TAB>"
is "$(complete_words 'desk-identify user ')" "link show unlink update " "bash: desk-identify user commands"
is "$(complete_words 'desk-identify code --channel ')" "app forum " "bash: desk-identify --channel"
is "$(complete_words 'desk-identify user update 3 --f')" "--field " "bash: desk-identify user update options"
is "$(complete_words 'desk-route ')" "check list tick " "bash: desk-route commands"
is "$(complete_words 'desk-route tick --')" "--dry-run --explain --help --rules --store --version " "bash: desk-route tick options"
is "$(complete_words 'desk-route list -')" "--help --rules --store --version -V -h -r -s " "bash: desk-route list options"
is "$(complete_words 'desk-reply out')" "outbox " "bash: desk-reply out<TAB>"
is "$(complete_words 'desk-reply outbox --')" "--all --help --store --version " "bash: desk-reply outbox options"
is "$(complete_words 'desk-reply --as-user --user 3 --channel ')" "app forum " "bash: desk-reply --channel"
is "$(complete_words 'desk-reply --re')" "--reopen " "bash: desk-reply options"

# The README says how to start, and CI runs what the README says.
like "$TOP/README.md" 'make demo' "README shows make demo"
like "$TOP/README.md" 'make check' "README shows make check"
like "$TOP/.ci/run" '^[^#]*make check' ".ci/run runs make check"

done_testing
