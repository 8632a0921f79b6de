#!/bin/sh
# desk(7), the overview (issue 13, item 3): its exit-status table is the
# code's (lib/base/base.h's DESK_EX_*), its environment every variable any
# tool reads (env.c's table and every getenv), its SEE ALSO every page; and
# every page points back to it.
. "$(dirname "$0")/lib.sh"

page=$TOP/man/desk.7
section() { # section NAME: the lines of desk(7)'s section NAME
	awk -v s=".Sh $1" '$0 == s { p = 1; next } /^\.Sh / { p = 0 } p' "$page"
}

# The exit statuses: exactly the codes of the table in base.h.
sed -n 's/^[[:space:]]*DESK_EX_[A-Z]* = \([0-9]*\),.*/\1/p' "$TOP/lib/base/base.h" | sort -n > $T/codes
[ "$(lines $T/codes)" -ge 10 ]; ok $? "base.h: the DESK_EX_* table read ($(lines $T/codes) codes)"
section "EXIT STATUS" | sed -n 's/^\.It \([0-9]*\)$/\1/p' | sort -n > $T/documented
is "$(tr '\n' ' ' < $T/documented)" "$(tr '\n' ' ' < $T/codes)" "desk(7) EXIT STATUS: every DESK_EX_* code, and only those"
# No tool exits with a number of its own: exit() and return take the table's names.
grep -nE '\b(exit|_exit|desk_die|desk_die_errno)\(([2-9]|[1-9][0-9]+)\b' "$TOP"/cmd/*.c "$TOP"/lib/*.c "$TOP"/lib/*/*.c > $T/literal
is "$(cat $T/literal)" "" "no exit status but DESK_EX_* names in cmd/ and lib/"

# The environment: every variable read anywhere.
section ENVIRONMENT | sed -n 's/^\.It Ev //p' | tr ',' '\n' | tr -d ' ' | grep . | sort -u > $T/env-doc
{ sed -n 's/^[[:space:]]*{ "\(DESK_[A-Z_]*\)", set_.*/\1/p' "$TOP/lib/base/env.c"
  grep -ho 'getenv("[A-Za-z_]*")' "$TOP"/cmd/*.c "$TOP"/lib/*.c "$TOP"/lib/*/*.c | sed 's/getenv("\(.*\)")/\1/'
  grep -q '"HTTP_"' "$TOP/cmd/webhook-recv.c" && echo 'HTTP_*'
} | sort -u > $T/env-read
[ "$(grep -c '^DESK_' $T/env-read)" -ge 8 ]; ok $? "env.c: the DESK_* variables read ($(grep -c '^DESK_' $T/env-read))"
is "$(comm -23 $T/env-read $T/env-doc | tr '\n' ' ')" "" "desk(7) ENVIRONMENT: every variable a tool reads"
is "$(comm -13 $T/env-read $T/env-doc | tr '\n' ' ')" "" "desk(7) ENVIRONMENT: no variable no tool reads"
# And each tool's help documents each variable it names (t0011), from the same table.
for v in $(grep '^DESK_' $T/env-read); do
	desk-case --help > /dev/null # the tools start: each variable is known to env.c
	DESK_STORE=$T/s desk-webhook help | grep -q "^  $v " || desk-identify --help | grep -q "^  $v " ||
		desk-reply --help | grep -q "^  $v "
	ok $? "$v: in some tool's help"
done

# SEE ALSO: every other page; and every page names desk(7).
section "SEE ALSO" | sed -n 's/^\.Xr \([^ ]*\) \([0-9]\).*/\1.\2/p' | sort > $T/see
(cd "$TOP/man" && ls *.[1-8] | grep -vx desk.7 | sort) > $T/pages
is "$(tr '\n' ' ' < $T/see)" "$(tr '\n' ' ' < $T/pages)" "desk(7) SEE ALSO: every page"
for p in $(cat $T/pages); do
	awk '/^\.Sh SEE ALSO/ { s = 1; next } /^\.Sh / { s = 0 } s && /^\.Xr desk 7/ { f = 1 } END { exit !f }' "$TOP/man/$p"
	ok $? "$p: SEE ALSO desk(7)"
done
# The pipeline and the events, in one picture each.
section "THE PIPELINE" | grep -q 'desk-webhook serve'; ok $? "desk(7): the pipeline"
for ev in message status ident.request ident.code user.update reply message.out case.command route.tick delivery error; do
	section "THE EVENTS" | grep -q "^$ev "; ok $? "desk(7) THE EVENTS: $ev"
done

done_testing
