#!/bin/sh
# desk-case compact killed at any point leaves a store that fsck passes
# with nothing lost. Random kills while a desk-case writer runs alongside
# (the writer finishes, and every event it acknowledged replays as a
# duplicate with its message_id); then, with strace, a kill at each rename
# and each sync of the compaction in turn, each from the same store, every
# answer compared with that store's (a sample of the cases shown with
# their messages, the list, and every event replayed), and the readers
# first, before any writer or fsck has taken the lock.
. "$(dirname "$0")/lib.sh"

export DESK_SEGMENT_SIZE=65536
with_channel app
awk 'BEGIN { for (i = 1; i <= 300; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"id\":\"m%d\",\"content\":\"hi\"}\n", i, i }' > $T/msgs
# rewrites R: every case rewritten twice by status events without an id
rewrites() {
	awk -v r="$1" 'BEGIN { for (k = 0; k < 2; k++) for (i = 1; i <= 300; i++) printf "{\"type\":\"status\",\"case_id\":%d,\"status\":\"%s\"}\n", i, (r + k) % 2 ? "pending" : "open" }'
}
desk-case $T/msgs > /dev/null
for r in 1 2 3 4 5 6 7 8; do rewrites $r; done | desk-case > /dev/null
cp $T/msgs $T/acked

# checked DESC: fsck passes, and every event acknowledged so far replays
# as a duplicate with the message_id it was acknowledged with.
checked() {
	run desk-case fsck
	rc 0 "$1: fsck passes"
	json $OUT .damage 0 "$1: no damage"
	desk-case $T/acked | jq -c '[.id, .message_id, .duplicate]' > $T/replay
	jq -c '[.id, .message_id, true]' $T/acked.out > $T/want 2> /dev/null
	cmp -s $T/want $T/replay; ok $? "$1: all $(lines $T/acked) acknowledged events replay as they were stored"
}
desk-case $T/acked > /dev/null
desk-case $T/acked | jq -c 'del(.duplicate)' > $T/acked.out

# Random kills, a writer alongside: new messages with ids, and more rewrites.
journals=0 leftovers=0 done=0
for i in 1 2 3 4 5 6 7 8; do
	{ awk -v i=$i 'BEGIN { for (k = 1; k <= 500; k++) printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"id\":\"w%d-%d\",\"content\":\"more\"}\n", k % 300 + 1, i, k }'
	  rewrites $i; } > $T/w.$i
	# The kill lands within the time a compaction of this store takes
	# here (timed on a copy with the writer's input), so that it falls
	# mid-way however fast the machine is.
	rm -rf $T/copy; cp -a $DESK_STORE $T/copy
	DESK_STORE=$T/copy desk-case $T/w.$i > /dev/null 2>&1 &
	t0=$(date +%s%N)
	DESK_STORE=$T/copy desk-case compact > /dev/null 2>&1
	ms=$((($(date +%s%N) - t0) / 1000000))
	wait
	desk-case $T/w.$i > $T/w.$i.out 2> $T/w.$i.err &
	wpid=$!
	desk-case compact > $T/c.$i 2>&1 &
	cpid=$!
	d=$(awk -v i=$i -v ms=$ms 'BEGIN { srand(i); printf "%.3f", rand() * ms / 1000 }')
	sleep $d
	kill -9 $cpid 2> /dev/null
	wait $cpid
	crc=$?
	wait $wpid
	is $? 0 "round $i: the writer went on and finished while compact ran (killed after ${d}s: exit $crc)"
	[ $crc -eq 0 ] && done=$((done + 1))
	[ -e $DESK_STORE/compact ] && journals=$((journals + 1))
	ls $DESK_STORE/tmp | grep -q "^$cpid\." && leftovers=$((leftovers + 1))
	grep '"id":"w' $T/w.$i > $T/w.$i.msgs
	cat $T/w.$i.msgs >> $T/acked
	grep '"id":"w' $T/w.$i.out | jq -c 'del(.duplicate)' >> $T/acked.out
	checked "round $i"
done
echo "# $done compactions finished, $journals were killed after their journal, $leftovers left tmp/ files"
[ $leftovers -gt 0 ]; ok $? "some kills landed mid-compaction ($leftovers)"

if ! command -v strace > /dev/null; then
	echo "# no strace: the kills at each rename and sync are skipped"
	done_testing
	exit
fi
# A store with something to compact, and what it answers.
for r in 1 2 3 4; do rewrites $r; done | desk-case > /dev/null
desk-webhook channel add later > /dev/null
cp -a $DESK_STORE $T/pristine
# What readers answer, and then a writer.
readers() {
	for c in $(seq 1 29 300); do desk-case show $c; done
	desk-case list
}
answers() {
	readers
	desk-case $T/acked
}
answers > $T/ref
readers > $T/ref.readers
n=$(ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	strace -f -c -e trace=renameat,fsync,fdatasync desk-case compact 2>&1 >/dev/null |
	awk '$NF ~ /^(renameat|fsync|fdatasync)$/ { printf "%s:%s ", $NF, $(NF-1) }')
echo "# syscalls of a compaction: $n"
for sc in $n; do
	call=${sc%:*} count=${sc#*:}
	k=1
	while [ $k -le $count ]; do
		rm -rf $DESK_STORE; cp -a $T/pristine $DESK_STORE
		# LeakSanitizer cannot run under ptrace (make check-san).
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		    strace -f -o /dev/null -e trace=$call -e inject=$call:signal=KILL:when=$k desk-case compact > /dev/null 2>&1
		is $? 137 "killed at $call $k of $count"
		# Before any writer: readers finish a swap the kill left journaled.
		readers > $T/got 2> $T/got.err
		cmp -s $T/ref.readers $T/got
		ok $? "killed at $call $k: readers, first, answer as before $(head -c 200 $T/got.err)"
		run desk-case fsck
		rc 0 "killed at $call $k: fsck passes"
		answers > $T/got
		cmp -s $T/ref $T/got; ok $? "killed at $call $k: every case, message and event as before"
		# Step through the renames one by one, the syncs every fifth.
		[ $call = renameat ] && k=$((k + 1)) || k=$((k + 5))
	done
done
rm -rf $DESK_STORE; cp -a $T/pristine $DESK_STORE
run desk-case compact
json $OUT '.dropped > 0' true "uninterrupted, the same compaction leaves records out"
answers > $T/got
cmp -s $T/ref $T/got; ok $? "and every answer is as before"

done_testing
