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
DESK_SYNC always
DESK_REPLY_LIMITS three
DESK_REPLY_LIMITS 10/0
DESK_NOW yesterday
DESK_NOW 2026-13-01T00:00:00Z
EOF
while read -r var val; do
	env "$var=$val" desk-case list > $OUT 2> $ERR; RC=$?
	rc 78 "$var=$val: desk-case list on an empty store exits 78"
	like $ERR "^desk-case: $var: " "... naming $var"
	env "$var=$val" desk-identify < /dev/null > $OUT 2> $ERR; RC=$?
	rc 78 "$var=$val: desk-identify < /dev/null exits 78"
	env "$var=$val" desk-webhook -V > $OUT 2> $ERR; RC=$?
	rc 78 "$var=$val: checked before anything, even -V"
done < $T/bad

DESK_STORE= run desk-case list
rc 78 "an empty DESK_STORE (set but empty) exits 78"
like $ERR "^desk-case: DESK_STORE: " "... naming it"

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
flock $DESK_STORE/lock sleep 2 &
holder=$!
i=0
while flock -n $DESK_STORE/lock true && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
printf '{"channel":"app","user_custom_id":"u1","content":"x"}\n' > $T/in
DESK_LOCK_TIMEOUT=0 run desk-case $T/in
rc 75 "DESK_LOCK_TIMEOUT=0: a held lock gives up at once"
wait $holder

# Every DESK_ variable the code reads is in this test and in a man page.
grep -oE '"DESK_[A-Z_]+"' $TOP/lib/env.c 2>/dev/null | tr -d '"' | sort -u > $T/vars
test -s $T/vars; ok $? "lib/env.c names the variables"
for v in $(cat $T/vars); do
	grep -q "$v" $0; ok $? "$v is tested here"
	grep -q "Ev $v" $TOP/man/*.[1-8]; ok $? "$v is documented"
done
n=$(grep -rn 'getenv("DESK_' $TOP/lib $TOP/cmd | grep -v 'lib/env.c' | wc -l | tr -d ' ')
is "$n" 0 "no DESK_ variable is read outside lib/env.c"

done_testing
