#!/bin/sh
# Every DESK_* variable is checked when a tool starts: a bad value exits 78
# naming the variable, even for a command that takes no lock and reads no
# input, so a mistake shows at once and not the first time two writers meet.
. "$(dirname "$0")/lib.sh"

with_channel app
# VAR=VALUE pairs, each one bad.
cat > $T/bad <<'EOF'
DESK_LOCK_TIMEOUT nan
DESK_LOCK_TIMEOUT inf
DESK_LOCK_TIMEOUT -1
DESK_LOCK_TIMEOUT 5s
DESK_LOCK_TIMEOUT 0x10
DESK_LOCK_TIMEOUT 86401
DESK_SEGMENT_SIZE 100
DESK_SEGMENT_SIZE 64k
DESK_MAX_RECORD 1e6
DESK_MAX_RECORD -5
DESK_MAX_RECORD 16777216
DESK_IDENT_LIMITS 30/60
DESK_IDENT_LIMITS 30/60,x
DESK_SYNC always
DESK_REPLY_LIMITS three
DESK_REPLY_LIMITS 10/0
DESK_NOW yesterday
DESK_NOW 2026-13-01T00:00:00Z
EOF
# One line per command: its exit status, and whether it named the variable.
try() { # try VAR VAL CMD...: runs CMD with VAR=VAL, stdin /dev/null
	t_var=$1 t_val=$2
	shift 2
	env "$t_var=$t_val" "$@" < /dev/null > $OUT 2> $ERR; t_rc=$?
	if head -n 1 $ERR | grep -q "^$1: $t_var: "; then t_named=named; else t_named=silent; fi
	echo "$* $t_rc $t_named"
}
while read -r var val; do
	{ try $var "$val" desk-case list
	  try $var "$val" desk-identify
	  try $var "$val" desk-webhook -V; } > $T/got
	printf '%s\n' "desk-case list 78 named" "desk-identify 78 named" \
		"desk-webhook -V 78 named" > $T/want
	is "$(cat $T/got)" "$(cat $T/want)" \
		"$var=$val: 78 naming it from a reader, from a filter with no input, even from -V"
done < $T/bad

DESK_STORE= run desk-case -s $DESK_STORE list
rc 1 "an empty DESK_STORE does not matter when -s names the store (exit 1: no cases)"
is "$(wc -c < $ERR | tr -d ' ')" 0 "and nothing is said about it"
mkdir $T/home
DESK_STORE= HOME=$T/home run desk-webhook channel add other --type async
rc 78 "an empty DESK_STORE (set but empty) exits 78"
like $ERR "^desk-webhook: DESK_STORE: " "... naming it"
test -z "$(ls -A $T/home)"; ok $? "... and no store was made in the default place"

# Good values still work, and an empty one means the default.
DESK_LOCK_TIMEOUT=0.25 DESK_SEGMENT_SIZE=4096 DESK_MAX_RECORD=1000 DESK_SYNC=event \
DESK_REPLY_LIMITS=3/60,10/600 DESK_NOW=1700000000 run desk-case list
rc 1 "good values: desk-case list runs (nothing to list: 1)"
DESK_LOCK_TIMEOUT= DESK_SEGMENT_SIZE= DESK_MAX_RECORD= DESK_SYNC= DESK_REPLY_LIMITS= \
DESK_NOW= run desk-case list
rc 1 "empty values mean the defaults"
DESK_LOCK_TIMEOUT=.5 run desk-case list
rc 1 "DESK_LOCK_TIMEOUT=.5 is half a second"

# The lock wait honours a good value (and a bad one never got this far).
hold $DESK_STORE/lock
printf '{"channel":"app","user_custom_id":"u1","content":"x"}\n' > $T/in
DESK_LOCK_TIMEOUT=0 run desk-case $T/in
rc 75 "DESK_LOCK_TIMEOUT=0: a held lock gives up at once"
release

# Every DESK_ variable the code reads is in this test and in a man page.
grep -oE '"DESK_[A-Z_]+"' $TOP/lib/base/env.c 2>/dev/null | tr -d '"' | sort -u > $T/vars
test -s $T/vars; ok $? "lib/base/env.c names the variables"
for v in $(cat $T/vars); do
	grep -q "$v" $0; ok $? "$v is tested here"
	grep -q "Ev $v" $TOP/man/*.[1-8]; ok $? "$v is documented"
done
n=$(grep -rn 'getenv("DESK_' $TOP/lib $TOP/cmd | grep -v "lib/base/env.c" | wc -l | tr -d ' ')
is "$n" 0 "no DESK_ variable is read outside lib/base/env.c"

done_testing
