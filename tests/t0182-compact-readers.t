#!/bin/sh
# Readers go on while desk-case compact runs: a reader that read the index
# before the swap and opens a rewritten segment after it (two stores, not
# damage) runs itself again, once the swap is done, and answers as before;
# it is never told to run fsck. Each reader is held at its open of a
# segment that compact rewrites (strace's delay_enter) while a compaction
# swaps the files in; it must have run twice (two execve) and printed what
# a copy of the store taken before answers.
. "$(dirname "$0")/lib.sh"

need_strace
command -v pgrep > /dev/null || { echo "1..0 # SKIP pgrep not installed"; exit 0; }

export DESK_SEGMENT_SIZE=65536
with_channel app
awk 'BEGIN { for (i = 1; i <= 200; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"id\":\"m%d\",\"content\":\"hi\"}\n", i, i }' > $T/msgs
awk 'BEGIN { for (r = 1; r <= 20; r++) for (i = 1; i <= 200; i++) printf "{\"type\":\"status\",\"case_id\":%d,\"status\":\"%s\"}\n", i, r % 2 ? "pending" : "open" }' > $T/status
awk 'BEGIN { for (i = 1; i <= 300; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"content\":\"later %d\"}\n", i % 200 + 1, i }' > $T/later
run desk-case $T/msgs $T/status $T/later
rc 0 "200 cases rewritten 20 times, in segments of 64 KiB"
cp -a $DESK_STORE $T/base

# straddle NAME FILE CMD...: CMD held at its open of log/FILE, a sealed
# segment compact rewrites, while a compaction swaps; its stdout, stderr,
# status and execve count in $T/NAME.{out,err,rc,n}; its stdin $STDIN.
straddle() {
	name=$1 file=$2; shift 2
	rm -rf $DESK_STORE; cp -a $T/base $DESK_STORE
	strace -o $T/dry -e trace=openat "$@" < ${STDIN:-/dev/null} > /dev/null 2>&1
	n=$(grep -n "\"$file\"" $T/dry | head -n 1 | cut -d: -f1)
	[ -n "$n" ] || { echo "# $name: no open of $file" >&2; n=0; }
	strace -f -o $T/$name.tr -e trace=openat,execve \
	    -e inject=openat:delay_enter=3000000:when=$n \
	    "$@" < ${STDIN:-/dev/null} > $T/$name.out 2> $T/$name.err &
	sp=$!
	# Held: it has the index open and waits at the segment's open.
	w=0; while [ $w -lt 500 ]; do
		p=$(pgrep -P $sp | head -n 1)
		[ -n "$p" ] && ls -l /proc/$p/fd 2> /dev/null | grep -q 'index/' && break
		sleep 0.01; w=$((w + 1))
	done
	desk-case compact > $T/$name.compact 2>&1
	wait $sp; echo $? > $T/$name.rc
	grep -c 'execve(' $T/$name.tr > $T/$name.n
}

# The answers to compare with: the store before, untouched.
DESK_STORE=$T/base desk-case show 150 > $T/want.show
DESK_STORE=$T/base desk-case list > $T/want.list
DESK_STORE=$T/base desk-case list --user 42 > $T/want.user
[ -s $T/want.show ] && [ "$(lines $T/want.list)" -eq 200 ] && [ -s $T/want.user ]
ok $? "the reference answers: case 150, 200 cases listed, user 42's"

# The segment a case's latest version is in (a sealed one, rewritten).
seg_of() { grep -l "\"rec\":\"case\",\"case_id\":$1," $T/base/log/* | tail -n 1 | xargs basename; }

straddle show "$(seg_of 150)" desk-case show 150
json $T/show.compact '.rewritten > 0' true "compact rewrote segments meanwhile"
is "$(cat $T/show.rc):$(cat $T/show.n)" "0:2" "show held across the swap: exit 0, run twice"
cmp -s $T/want.show $T/show.out; ok $? "and it printed case 150 as before"
[ ! -s $T/show.err ]; ok $? "and said nothing on stderr"

straddle list "$(seg_of 200)" desk-case list
is "$(cat $T/list.rc):$(cat $T/list.n)" "0:2" "list held across the swap: exit 0, run twice"
cmp -s $T/want.list $T/list.out; ok $? "and it listed the 200 cases as before"

straddle user "$(seg_of 42)" desk-case list --user 42
is "$(cat $T/user.rc):$(cat $T/user.n)" "0:2" "list --user held across the swap: exit 0, run twice"
cmp -s $T/want.user $T/user.out; ok $? "and it listed user 42's cases as before"

# A list by status read back through the status marks: held at the open
# of the segment before the last, which the backward read reaches.
DESK_STORE=$T/base desk-case list --status open --limit 150 > $T/want.status
straddle status "$(ls $T/base/log | tail -n 2 | head -n 1)" desk-case list --status open --limit 150
is "$(cat $T/status.rc):$(cat $T/status.n)" "0:2" "list --status open --limit 150 held across the swap: exit 0, run twice"
[ "$(lines $T/want.status)" -eq 150 ] && cmp -s $T/want.status $T/status.out
ok $? "and it listed the 150 cases as before"

# A reader that may not run again (its tries used up) fails 75, says to
# run it again, prints nothing, and sends nobody to fsck.
DESK_READ_AGAIN=3 straddle spent "$(seg_of 150)" desk-case show 150
is "$(cat $T/spent.rc):$(cat $T/spent.n)" "75:1" "with no try left: exit 75, run once"
like $T/spent.err 'compacted or repaired while this read it: run it again' "and said why"
unlike $T/spent.err 'fsck' "not that the store needs fsck"
[ ! -s $T/spent.out ]; ok $? "and printed nothing"

# A command that read its input (rules from stdin) may not start over,
# it could not read them again: 75, run once, its rules not blamed.
cat > $T/rules.json << 'EOF'
{ "rules": [ { "name": "esc", "on": "time",
  "all": [ { "field": "status", "is": "open" }, { "field": "case.updated_at", "before": "2 hours ago" } ],
  "actions": [ { "label": "escalated" } ] } ] }
EOF
STDIN=$T/rules.json DESK_NOW=2026-11-22T10:00:00Z straddle rules "$(seg_of 150)" \
	desk-route tick --dry-run -r -
is "$(cat $T/rules.rc):$(cat $T/rules.n)" "75:1" "tick -r - held across the swap, its rules read from stdin: exit 75, run once"
like $T/rules.err 'compacted or repaired while this read it: run it again' "and said to run it again"
run desk-case fsck
json $OUT '.damage' 0 "fsck after the compactions: no damage"

# fsck --repair killed after it cut a damaged record out of a sealed
# segment and before its rebuild (its mark, STORE/repair, left): the
# index points into the log as it was. The first reader, before any
# writer, takes the lock for that moment, which rebuilds the index, and
# answers as the finished repair does.
rm -rf $DESK_STORE
with_channel app
awk 'BEGIN { for (i = 1; i <= 300; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"id\":\"e%d\",\"content\":\"m %d\"}\n", i % 30 + 1, i, i }' |
	DESK_SEGMENT_SIZE=16384 desk-case > /dev/null
f=$DESK_STORE/log/00000002.jsonl
line=$(grep -n '"rec":"message"' $f | sed -n 3p | cut -d: -f1)
awk -v n=$line 'NR == n { gsub(/"/, "#") } { print }' $f > $T/f && cat $T/f > $f
cp -a $DESK_STORE $T/damaged
desk-case fsck --repair > /dev/null 2>&1
for c in $(seq 1 30); do desk-case show $c; done > $T/want.repaired
[ "$(jq '.messages | length' $T/want.repaired | awk '{ n += $1 } END { print n }')" -eq 299 ]
ok $? "the finished repair: 30 cases, 299 messages (one cut)"
strace -f -o $T/count -e trace=renameat desk-case fsck --repair > /dev/null 2>&1
renames=$(grep -c 'renameat(' $T/count)
marked=0 wrong=
for k in $(seq 1 $((renames + 1))); do
	rm -rf $DESK_STORE; cp -a $T/damaged $DESK_STORE
	strace -f -o /dev/null -e trace=renameat -e inject=renameat:signal=KILL:when=$k \
		desk-case fsck --repair > /dev/null 2>&1
	[ -e $DESK_STORE/repair ] || continue
	marked=$((marked + 1))
	for c in $(seq 1 30); do desk-case show $c; done > $T/seen 2> $T/seen.err
	cmp -s $T/want.repaired $T/seen || wrong="$wrong $k"
	[ -e $DESK_STORE/repair ] && wrong="$wrong $k:mark-left"
done
[ $marked -gt 0 ]; ok $? "fsck --repair killed with its mark left, at $marked of its renameats"
is "$wrong" "" "each time the readers answered as the finished repair, and the mark is gone"

# A repair's mark while the lock is held (a repair under way, which holds
# it for its whole cut and rebuild): a reader does not wait for it.
rm -rf $DESK_STORE; cp -a $T/damaged $DESK_STORE
desk-case fsck --repair > /dev/null 2>&1
echo "fsck --repair is cutting damaged records out of the log" > $DESK_STORE/repair
hold $DESK_STORE/lock
DESK_LOCK_TIMEOUT=2 timed desk-case show 1
is "$RC:$(jq -c .case_id $OUT 2>/dev/null)" "0:1" "a reader with the mark there and the lock held: answers"
[ "$MS" -lt 1500 ]; ok $? "without waiting for the lock (${MS} ms)"
[ -e $DESK_STORE/repair ]; ok $? "and leaves the mark to the lock's holder"
release
run desk-case show 1
[ ! -e $DESK_STORE/repair ]; ok $? "the next reader, the lock free, takes it and the mark is gone"

done_testing
