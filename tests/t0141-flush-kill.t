#!/bin/sh
# A batch's slots and index buckets are held back and written together at
# its end (desk-store(5)): a writer killed at any one of those writes, or
# at the write of its log records, leaves a store that fsck passes after
# the next writer's roll-forward, and that a replay of the same input
# completes exactly. The kill is put at the Nth pwrite64 (or write) by
# strace, for every N the batch makes, so no window between two writes is
# missed (past the first 40, every few); index/batch.redo is what makes the
# windows inside the flush safe.
. "$(dirname "$0")/lib.sh"

need_strace

with_channel app
awk 'BEGIN { for (i = 1; i <= 50; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"content\":\"hi\"}\n", i }' |
	desk-case > /dev/null
# Replies: each queues an outbox entry on the due list (its neighbour, the
# list's end and itself, in that order, desk-store(5)) and counts in its case.
awk 'BEGIN { for (i = 1; i <= 600; i++) printf "{\"type\":\"reply\",\"case_id\":%d,\"id\":\"r%d\",\"content\":\"reply %d\"}\n", i % 50 + 1, i, i }' > $T/replies
# Messages: new users and cases, and more messages in the 50 cases.
awk 'BEGIN { for (i = 1; i <= 600; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"id\":\"m%d\",\"content\":\"more %d\"}\n", i % 400 + 1, i, i }' > $T/messages
# Status changes and the messages that open new cases after a close: each
# moves a case from one status list to another (its neighbours, the
# lists' ends and itself) and links a new case to its user's chain.
awk 'BEGIN { split("pending open closed pending closed open", s, " ")
	for (i = 1; i <= 600; i++)
		if (i % 3 == 0)
			printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"id\":\"n%d\",\"content\":\"next %d\"}\n", i % 50 + 1, i, i
		else
			printf "{\"type\":\"status\",\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"id\":\"s%d\",\"status\":\"%s\"}\n", i % 50 + 1, i, s[int(i / 50) % 6 + 1] }' > $T/statuses
cp -a $DESK_STORE $T/base
# What the statuses make when nothing is killed: every case's status, and
# each status's list (read from the index) the same as the cases' own.
cases_by_status() {
	desk-case list | jq -c '[.case_id, .status]' | sort
	for s in open pending closed; do
		desk-case list --status $s | jq -c '[.case_id, .status]' | sort
	done
	desk-case fsck 2> /dev/null | jq -c '[.damage, .cases, .messages]'
}
cases_by_status > $T/want.none
desk-case < $T/statuses > /dev/null
cases_by_status > $T/want.statuses
cmp -s $T/want.none $T/want.statuses
isnt $? 0 "the statuses change what the cases' lists hold"
is "$(tail -n 1 $T/want.statuses)" "[0,116,250]" "the statuses open 66 new cases"
rm -rf $DESK_STORE; cp -a $T/base $DESK_STORE

# sweep TOOL INPUT SYSCALL MIN CHECK: kills TOOL at each SYSCALL in turn
sweep() {
	tool=$1 in=$2 call=$3
	rm -rf $DESK_STORE; cp -a $T/base $DESK_STORE
	strace -f -o $T/count -e trace=$call $tool < $in > /dev/null 2>&1
	total=$(grep -c "$call(" $T/count)
	[ "$total" -ge "$4" ]; ok $? "$tool makes $total ${call}s for its batch"
	bad=0 kills=0 lost=0 k=1 tried=0
	while [ $k -le "$total" ]; do
		tried=$((tried + 1))
		rm -rf $DESK_STORE; cp -a $T/base $DESK_STORE
		strace -f -o /dev/null -e trace=$call -e inject=$call:signal=KILL:when=$k \
			$tool < $in > $T/killed.out 2> /dev/null
		st=$?
		[ $st -ne 0 ] && kills=$((kills + 1))
		desk-case fsck > $T/fsck 2> $T/fsck.err
		[ $? -eq 0 ] && [ "$(jq .damage $T/fsck)" = 0 ] ||
			{ bad=$((bad + 1)); echo "# $call $k: $(head -c 300 $T/fsck.err)"; }
		# The same input again: every event taken exactly once.
		$tool < $in > /dev/null 2>&1
		eval "$5" || { lost=$((lost + 1)); echo "# $call $k: after the replay: $(cat $T/check)"; }
		if [ $k -lt 40 ]; then k=$((k + 1)); else k=$((k + total / 20 + 1)); fi
	done
	# A batch also ends after a second: a slow run (sanitizers, a loaded
	# box) may split it and make more or fewer writes than the count.
	[ "$kills" -ge $((tried / 2)) ]
	ok $? "$tool: killed at $kills of the $tried of its $total ${call}s tried"
	is "$bad" 0 "$tool: fsck passes after every one of the $tried kills"
	is "$lost" 0 "$tool: a replay after each kill stores every event once"
}

replies_ok() {
	desk-reply outbox | wc -l | tr -d ' ' > $T/check
	desk-case fsck 2> /dev/null | jq -c '[.damage,.messages]' >> $T/check
	[ "$(cat $T/check | tr '\n' ' ')" = "600 [0,650] " ]
}
messages_ok() {
	desk-case fsck 2> /dev/null | jq -c '[.damage,.messages]' > $T/check
	[ "$(cat $T/check)" = "[0,650]" ]
}
statuses_ok() {
	cases_by_status > $T/check
	cmp -s $T/check $T/want.statuses
}
# The writes of the flush; then the log's write and the answers' (after it).
sweep desk-reply $T/replies pwrite64 20 replies_ok
sweep desk-case $T/messages pwrite64 20 messages_ok
sweep desk-case $T/messages write 2 messages_ok
sweep desk-case $T/statuses pwrite64 20 statuses_ok

done_testing
