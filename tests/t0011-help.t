#!/bin/sh
# Help that explains (issue 13): every tool and every command prints, for
# --help and for help COMMAND, the same text on stdout: its forms, what
# each option does, the environment and where the man page is; a usage
# error is one line and a pointer to that help, exit 64. The commands and
# options are taken from the tools' own tables (the help's Commands and
# the completion of "--"), which are what the option parser is built from.
. "$(dirname "$0")/lib.sh"

# The parser is built from the tables alone: no command has options of its own.
grep -n 'getopt_long\|struct option\b' "$TOP"/cmd/*.c "$TOP"/lib/*.c "$TOP"/lib/*/*.c |
	grep -v '^[^:]*lib/base/opt.c:' > $T/own
is "$(cat $T/own)" "" "no option parser but lib/base/opt.c's, built from the tables"

# commands TOOL: every command path of TOOL ("" for the tool itself).
commands() {
	echo
	$1 --help | awk '/^Commands:/ { c = 1; next } /^$/ { c = 0 }
		c && $1 != "help" {
			# "channel add": the group ("channel") is a command too.
			if ($2 ~ /^[a-z]+$/ && !seen[$1]++) print $1
			if ($2 ~ /^[a-z]+$/) print $1 " " $2; else print $1 }'
}

# has_help FILE OPTION: the option's line says what it does, on that line
# or (a long option) on the next.
has_help() {
	awk -v o="$2" '
		/^Options:$/ { opts = 1; next }
		!opts { next }
		want { r = $0 ~ /^                           [^ ]/; done = 1; exit }
		{ s = $0; sub(/^ +(-[a-zA-Z], )?/, "", s) }
		substr(s, 1, length(o)) == o && substr(s, length(o) + 1, 1) ~ /^( |)$/ {
			s = substr(s, length(o) + 1); sub(/^ [^ ]+/, "", s)
			if (s == "") want = 1
			else { r = s ~ /^  +[^ ]/; done = 1; exit } }
		END { exit !(done && r) }' "$1"
}

for tool in $(ls $DESK_BIN); do
	commands $tool > $T/cmds
	n=$(lines $T/cmds)
	[ "$n" -gt 1 ] || [ $tool = desk-reply ]; ok $? "$tool: its commands are listed ($n)"
	while read -r cmd; do
		name="$tool${cmd:+ $cmd}"
		run $tool $cmd --help
		rc 0 "$name --help: exit 0"
		is "$(head -n 1 $OUT | cut -c 1-$((${#name} + 7)))" "usage: $name" "$name --help: its usage first"
		is "$(cat $ERR)" "" "$name --help: nothing on stderr"
		like $OUT "^See $tool\(1\) and desk\(7\)\.\$" "$name --help: names the man page"
		like $OUT '^Environment:$' "$name --help: the environment"
		unlike $OUT '\(undocumented\)' "$name --help: every variable it names is documented"
		is "$(awk 'length > 80' $OUT)" "" "$name --help: fits 80 columns"
		cp $OUT $T/help
		run $tool help $cmd
		rc 0 "$name: help COMMAND: exit 0"
		cmp -s $OUT $T/help; ok $? "$name: help COMMAND is COMMAND --help"
		# Every option the parser takes (its table, as completion lists it)
		# has a line of help that says what it does.
		$tool __complete $cmd -- | cut -f 1 > $T/opts
		for o in $(cat $T/opts); do
			has_help $T/help "$o"; ok $? "$name: $o has its help"
		done
		# And the parser takes every option the help lists.
		for o in $(sed -n '/^Options:$/,/^$/s/^ *\(-[a-zA-Z], \)\{0,1\}\(--[a-z-]*\).*/\2/p' $T/help); do
			grep -qx -- "$o" $T/opts; ok $? "$name: $o in the help is an option of the parser"
		done
		run $tool $cmd --no-such-option
		rc 64 "$name --no-such-option: exit 64"
		is "$(cat $ERR)" "$tool: --no-such-option: unknown option
Try '$name --help'." "$name --no-such-option: one line and where the help is"
		is "$(cat $OUT)" "" "$name --no-such-option: nothing on stdout"
	done < $T/cmds
	run $tool -V
	rc 0 "$tool -V: exit 0"
	run $tool help no-such-command
	rc 64 "$tool help no-such-command: exit 64"
done

# Usage errors name what is wrong, in one line.
usage_error() { # usage_error "REASON" "HINT PATH" CMD...
	u_why=$1 u_path=$2
	shift 2
	run "$@"
	rc 64 "$*: exit 64"
	is "$(cat $ERR)" "${u_why}
Try '$u_path --help'." "$*: $u_why"
}
usage_error "desk-case: --status: missing argument" "desk-case list" desk-case list --status
usage_error "desk-case: -x: unknown option" "desk-case" desk-case -x
usage_error "desk-case: show: expected 1 operand, got 0" "desk-case show" desk-case show
usage_error "desk-case: set: nothing to change (--status, --assignee, --team, --subject or --field)" \
	"desk-case set" desk-case set 3
usage_error "desk-case: --status: must be open, pending or closed: later" "desk-case set" \
	desk-case set 3 --status later
usage_error "desk-webhook: a command is required" "desk-webhook" desk-webhook
usage_error "desk-webhook: channel: frobnicate: unknown command" "desk-webhook channel" \
	desk-webhook channel frobnicate
usage_error "desk-webhook: dead: a command is required" "desk-webhook dead" desk-webhook dead
usage_error "desk-webhook: serve: --listen ADDR:PORT is required" "desk-webhook serve" desk-webhook serve
usage_error "desk-identify: user: nope: unknown command" "desk-identify user" desk-identify user nope
usage_error "desk-identify: help: nope: unknown command" "desk-identify" desk-identify help nope
usage_error "desk-route: --dry-run and --explain: one at most" "desk-route tick" \
	desk-route tick --dry-run --explain
usage_error "desk-reply: --staff, --api, --attach and --reopen need --case CASE" "desk-reply" \
	desk-reply --api
usage_error "desk-reply: outbox: x: takes no operands" "desk-reply outbox" desk-reply outbox x

# The issue's two: a subcommand's help, not "unknown command".
run desk-identify user --help
rc 0 "desk-identify user --help: exit 0"
like $OUT "^  update +Change a user" "desk-identify user --help: its commands"
run desk-webhook channel --help
rc 0 "desk-webhook channel --help: exit 0"
like $OUT "^  add +Add a channel" "desk-webhook channel --help: its commands"
# -s before a command, whatever the tool's own options are.
run desk-reply -s $T/other outbox --all
rc 78 "desk-reply -s DIR outbox --all: that store's outbox (there is none: 78)"
like $ERR "^desk-reply: $T/other: no store here" "desk-reply -s DIR outbox --all: names that store"
# --help to a full stdout: 74, as every write.
desk-webhook channel add --help > /dev/full 2> $ERR; RC=$?
rc 74 "desk-webhook channel add --help > /dev/full: exit 74"

done_testing
