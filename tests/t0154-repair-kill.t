#!/bin/sh
# fsck --repair killed between the renames that swap its rebuild in, with
# a writer running that keeps its derived files open across batches: the
# swap is journaled (STORE/compact) before its first rename and finished
# by the next lock, which advances the epoch, so the writer writes its
# next batches to the files in place, not to files renamed away. Every
# event the writer acknowledges after the kill is seen by a reader that
# takes no lock, and fsck then finds no damage. The repair is killed, or
# its rename fails with EIO, at each renameat in turn (strace's inject).
. "$(dirname "$0")/lib.sh"

need_strace

with_channel app
awk 'BEGIN { for (i = 1; i <= 300; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"id\":\"e%d\",\"content\":\"m %d\"}\n", i % 30 + 1, i, i }' |
	desk-case > /dev/null
# Damage for the repair to mend: message 7's slot made to point elsewhere.
slot_repoint $DESK_STORE/index/messages.slots 7
run desk-case fsck
json $OUT '.damage' 1 "the base store has one damaged slot"
cp -a $DESK_STORE $T/base
strace -f -o $T/count -e trace=renameat desk-case fsck --repair > /dev/null 2>&1
renames=$(grep -c 'renameat(' $T/count)
[ "$renames" -ge 8 ]; ok $? "fsck --repair makes $renames renameats (7 slot files and the index at least)"

# feed N FROM: N events of the writer's users into its fifo; then waits
# until the writer has acknowledged FROM + N - 1 of them in all.
feed() {
	awk -v n=$1 -v f=$2 'BEGIN { for (i = f; i < f + n; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"w%d\",\"id\":\"w%d\",\"content\":\"live %d\"}\n", i % 4, i, i }' >&3
	w=0; while [ "$(wc -l < $T/w.out)" -lt $(($2 + $1 - 1)) ] && [ $w -lt 1000 ]; do
		sleep 0.01; w=$((w + 1)); done
}

# repair_stopped HOW: fsck --repair stopped by HOW (strace's inject) at
# each renameat in turn, the writer going on around it.
repair_stopped() {
hidden=0 damage= want= kills=0 acked=0
for k in $(seq 1 $renames); do
	rm -rf $DESK_STORE; cp -a $T/base $DESK_STORE
	rm -f $T/fifo; mkfifo $T/fifo
	desk-case < $T/fifo > $T/w.out 2> $T/w.err &
	writer=$!
	exec 3> $T/fifo
	feed 20 1
	strace -f -o /dev/null -e trace=renameat -e inject=renameat:$1:when=$k \
		desk-case fsck --repair > /dev/null 2>&1
	[ $? -ne 0 ] && kills=$((kills + 1))
	feed 20 21
	exec 3>&-
	wait $writer
	acked=$((acked + $(wc -l < $T/w.out)))
	# Before any other lock: every acknowledged message, in its case.
	for c in $(jq .case_id $T/w.out | sort -u); do
		desk-case show $c | jq -c '.messages[].message_id'
	done > $T/seen 2> $T/seen.err
	jq .message_id $T/w.out | sort > $T/want
	sort $T/seen | comm -23 $T/want - > $T/missing
	[ -s $T/missing ] || [ "$(wc -l < $T/want)" -ne 40 ] &&
		{ hidden=$((hidden + 1)); echo "# renameat $k: $(wc -l < $T/want) acknowledged, $(wc -l < $T/missing) not shown $(head -c 200 $T/seen.err $T/w.err)"; }
	desk-case fsck > $T/fsck 2> /dev/null
	d=$(jq .damage $T/fsck)
	# Damage only of the record the repair did not get to cut, or none.
	[ "$d" -ge 1 ] && [ "$d" -le "${damage0:-1}" ] && d=left
	damage="$damage $k:$d"
	want="$want$(mended)"
done
[ "$kills" -eq "$renames" ]
ok $? "$1: fsck --repair stopped at each of its $renames renameats"
is "$acked" $((40 * renames)) "$1: the writer acknowledged all 40 of its events each time"
is "$hidden" 0 "$1: after each stop, a reader sees every message the writer acknowledged"
is "$damage" "$want" "$1: fsck then finds the damage mended, unless the repair did not get to it"
}
# The first renameat puts the journal in place: stopped at it, the repair
# swaps nothing and leaves the damage; at any later one the swap is finished.
mended() {
	[ $k -eq 1 ] && echo " $k:left" || echo " $k:0"
}
repair_stopped signal=KILL
repair_stopped error=EIO

# A damaged record in a sealed segment: the repair cuts it out of the log
# (positions move), then rebuilds the index under the lock. Stopped
# between the two, the index points into the log as it was: the next
# writer's lock, which finds the mark the repair left (STORE/repair),
# rebuilds it first, so the writer's events are seen and nothing else is
# damaged.
rm -rf $DESK_STORE
with_channel app
awk 'BEGIN { for (i = 1; i <= 300; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"id\":\"e%d\",\"content\":\"m %d\"}\n", i % 30 + 1, i, i }' |
	DESK_SEGMENT_SIZE=16384 desk-case > /dev/null
f=$DESK_STORE/log/00000002.jsonl
[ -e $DESK_STORE/log/00000004.jsonl ]; ok $? "the log is in sealed segments"
line=$(grep -n '"rec":"message"' $f | sed -n 3p | cut -d: -f1)
awk -v n=$line 'NR == n { gsub(/"/, "#") } { print }' $f > $T/f && cat $T/f > $f
run desk-case fsck
like $ERR "log/00000002.jsonl: offset [0-9]+: " "the damaged record is found"
damage0=$(jq .damage $OUT)
rm -rf $T/base; cp -a $DESK_STORE $T/base
strace -f -o $T/count -e trace=renameat desk-case fsck --repair > /dev/null 2>&1
renames=$(grep -c 'renameat(' $T/count)
run desk-case fsck
json $OUT .damage 0 "fsck --repair cuts it out ($renames renameats)"
# What fsck says after each stop: damage only while the record is in the log.
mended() {
	grep -q '#rec#:#message#' $DESK_STORE/log/00000002.jsonl &&
		echo " $k:left" || echo " $k:0"
}
repair_stopped signal=KILL

done_testing
