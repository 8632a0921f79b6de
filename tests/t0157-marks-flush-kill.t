#!/bin/sh
# The status marks across a flush in the middle of their writing: a batch
# is flushed whenever the index grows or every line of it is held dirty,
# which can fall between the two keys a case's new status sets (its
# 64 KiB's and its 4 MiB's). A writer closing a case is stopped by gdb at
# each entry of apply's mark_set (a marks key looked up, then set), its
# batch flushed there (as the growth does) and the writer killed; the
# next writer rolls the close forward.
# list --status closed --limit 1 must then name the case, and fsck find
# nothing: never a 64 KiB's bit on disk without its 4 MiB's, which the
# backward read trusts to pass over the whole block.
. "$(dirname "$0")/lib.sh"

command -v gdb > /dev/null || { echo "1..0 # SKIP gdb not installed"; exit 0; }
# (LeakSanitizer cannot run under ptrace)
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

with_channel app sync
# 1,500 cases, 1,000 of them closed, then 4,500 open ones: 7 MiB of log,
# the closed cases' records a block of 4 MiB back.
gen() { awk -v a=$1 -v b=$2 'BEGIN { for (i = a; i <= b; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"id\":\"a%d\",\"content\":\"%0400d\"}\n", i, i, i }'; }
gen 1 1500 > $T/in1
awk 'BEGIN { for (i = 1; i <= 1000; i++) printf "{\"type\":\"status\",\"case_id\":%d,\"status\":\"closed\"}\n", i }' > $T/status
gen 1501 6000 > $T/in2
gen 6001 6300 > $T/in3
run desk-case $T/in1 $T/status $T/in2
rc 0 "6,000 cases, 1,000 closed"
[ "$(du -k $DESK_STORE/log | cut -f1)" -gt 4096 ]; ok $? "(more than 4 MiB of log)"
cp -a $DESK_STORE $T/base

bad= stops=0
for hit in 1 2 3 4; do
	rm -rf $DESK_STORE; cp -a $T/base $DESK_STORE
	cat > $T/gdb <<EOF
set pagination off
break mark_set
ignore 1 $((hit - 1))
run
call (int)desk_store_flush(st)
kill
quit
EOF
	gdb -q -batch -x $T/gdb --args "$DESK_BIN/desk-case" set 5000 --status closed > $T/gdb.out 2>&1
	grep -q '^Breakpoint 1, .*mark_set' $T/gdb.out || continue
	stops=$((stops + 1))
	[ "$(desk-case show 5000 | jq -r .status)" = open ] || bad="$bad $hit:not-killed"
	desk-case $T/in3 > /dev/null 2>&1 || bad="$bad $hit:writer"
	[ "$(desk-case show 5000 | jq -r .status)" = closed ] || bad="$bad $hit:not-rolled"
	got=$(desk-case list --status closed --limit 1 | jq .case_id)
	[ "$got" = 5000 ] || bad="$bad $hit:listed-$got"
	desk-case fsck > /dev/null 2>&1 || bad="$bad $hit:fsck"
done
[ $stops -eq 3 ]; ok $? "the writer was stopped at each of its 3 settings of a marks key ($stops)"
is "$bad" "" "each time: the close rolled forward, listed, and fsck clean"

done_testing
