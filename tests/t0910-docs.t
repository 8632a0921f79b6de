#!/bin/sh
# Docs are part of the feature: every tool has a man page (lint clean) and
# completions (driven in t0912), and the usage text names what the page
# documents.
. "$(dirname "$0")/lib.sh"

run mandoc -Tlint -Wwarning "$TOP"/man/*.[1-8]
rc 0 "mandoc -Tlint: no warnings"
is "$(cat $OUT $ERR)" "" "mandoc -Tlint: silent"

for tool in $(ls $DESK_BIN); do
	test -f "$TOP/man/$tool.1"; ok $? "$tool has man/$tool.1"
	bash -c '. "$1"; complete -p "$2"' _ "$TOP/completions/desk.bash" $tool > /dev/null 2>&1
	ok $? "$tool has a bash completion"
	grep "^for tool in " "$TOP/completions/desk.fish" | tr ' ' '\n' | grep -qx -- $tool
	ok $? "$tool has a fish completion"
	grep -q "^#compdef.* $tool\( \|\$\)" "$TOP/completions/_desk"
	ok $? "$tool has a zsh completion"
	# Every command word in the SYNOPSIS appears in the usage text.
	$tool -h > $T/usage
	for w in $(awk '/^\.Sh SYNOPSIS/ { s = 1; next } /^\.Sh / { s = 0 } s && /^\.Cm / { print $2 }' "$TOP/man/$tool.1" | sort -u); do
		grep -q -- "$w" $T/usage; ok $? "$tool: usage mentions '$w' like the man page"
	done
done

bash -n "$TOP/completions/desk.bash"; ok $? "the bash completions parse"
# The man page lists the connectors of the table, in its order.
is "$(sed -n 's/^\.Op Fl \\-connector Cm \(.*\)$/\1/p' "$TOP/man/desk-webhook.1" | sed 's/ | /|/g')" \
	"$(desk-webhook channel connectors | jq -r .connector | paste -sd '|')" "desk-webhook(1): the connectors of the table"

# The README says how to start, and CI runs what the README says.
like "$TOP/README.md" 'make demo' "README shows make demo"
like "$TOP/README.md" 'make check' "README shows make check"
like "$TOP/.ci/run" '^[^#]*make check' ".ci/run runs make check"

done_testing
