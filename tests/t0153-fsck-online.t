#!/bin/sh
# fsck beside a streaming writer: the rebuild from the log is made without
# the writer lock, so the writer goes on acknowledging events while fsck
# runs (measured: its output grows while fsck's rebuild files are in
# tmp/); fsck still finds the store clean, and still finds a slot damaged
# before it started; --repair mends it with the writer still going, and
# nothing the writer acknowledged is lost.
. "$(dirname "$0")/lib.sh"

with_channel app
# Enough records that the rebuild takes a while (tens of ms per thousand).
awk 'BEGIN { for (i = 1; i <= 20000; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"id\":\"e%d\",\"content\":\"m %d\"}\n", i % 2000, i, i }' > $T/in
run desk-case $T/in
rc 0 "20,000 messages of 2,000 users stored"

# The writer: one event every 10 ms through a fifo until $T/stop exists,
# each answered as soon as it is committed (a batch ends when the input
# has nothing more).
mkfifo $T/fifo
(i=0; while [ ! -e $T/stop ]; do
	i=$((i + 1))
	printf '{"channel":"app","user_custom_id":"w%d","id":"w%d","content":"live %d"}\n' $((i % 10)) $i $i
	sleep 0.01
done) > $T/fifo &
feed=$!
desk-case < $T/fifo > $T/w.out 2> $T/w.err &
writer=$!
n=0; while [ ! -s $T/w.out ] && [ $n -lt 500 ]; do sleep 0.02; n=$((n + 1)); done
ok $([ -s $T/w.out ]; echo $?) "the writer answers"

# fsck_beside ARGS...: fsck in the background. $GREW is the most events
# the writer answered between two counts taken while one and the same
# rebuild file of fsck's was in tmp/ (seen before and after each count;
# names are never used twice), so within one rebuild of fsck's run.
fsck_beside() {
	desk-case fsck "$@" > $OUT 2> $ERR &
	fp=$!
	GREW=0 key= first=0
	while kill -0 $fp 2> /dev/null; do
		k1=$(ls $DESK_STORE/tmp | grep "^$fp\." | sort -t. -k2n | head -n 1)
		c=$(lines $T/w.out)
		k2=$(ls $DESK_STORE/tmp | grep "^$fp\." | sort -t. -k2n | head -n 1)
		if [ -n "$k1" ] && [ "$k1" = "$k2" ]; then
			[ "$k1" = "$key" ] || { key=$k1; first=$c; }
			[ $((c - first)) -le $GREW ] || GREW=$((c - first))
		fi
		sleep 0.02
	done
	wait $fp
	RC=$?
}

fsck_beside
rc 0 "fsck beside the writer: exit 0"
json $OUT '.damage' 0 "and the store is clean"
ok $([ "$GREW" -ge 3 ]; echo $?) "the writer answered events during fsck's rebuild ($GREW)"

# A message's slot made to point elsewhere, in place (the writer never
# writes message 7's slot again, nor any slot of the 64 bytes around it).
slot_repoint $DESK_STORE/index/messages.slots 7
fsck_beside
rc 1 "a slot damaged before fsck: exit 1"
like $ERR "fsck: message 7: slot points at the record at 1:[0-9]+, the log's latest is at 1:[0-9]+" \
	"the damage is found beside the writer"
json $OUT '.damage' 1 "and only it"
ok $([ "$GREW" -ge 3 ]; echo $?) "the writer answered events meanwhile ($GREW)"

fsck_beside --repair
rc 0 "--repair beside the writer: exit 0"
json $OUT '[.damage,.repaired]' '[0,true]' "repaired"
ok $([ "$GREW" -ge 3 ]; echo $?) "the writer answered events meanwhile ($GREW)"

touch $T/stop
wait $feed
wait $writer
is "$?" 0 "the writer exits 0"
is "$(cat $T/w.err)" "" "and says nothing on stderr"
run desk-case fsck
rc 0 "fsck after: exit 0"
json $OUT '[.damage,.messages]' "[0,$((20000 + $(lines $T/w.out)))]" \
	"clean, with every message the writer answered"
is "$(ls -A $DESK_STORE/tmp | wc -l | tr -d ' ')" 0 "tmp/ is empty"

# A repair that swaps the index in while fsck rebuilds without the lock:
# fsck, stopped there (its rebuild files in tmp/, the lock free), finds the
# epoch moved when it takes the lock again and exits 75, leaving tmp/ empty.
got75=
for try in 1 2 3 4 5; do
	desk-case fsck > $T/a.out 2> $T/a.err &
	fp=$!
	n=0; while ! ls $DESK_STORE/tmp | grep -q "^$fp\." && [ $n -lt 500 ]; do
		sleep 0.01; n=$((n + 1)); done
	kill -STOP $fp
	if ls $DESK_STORE/tmp | grep -q "^$fp\." && flock -n $DESK_STORE/lock true; then
		DESK_LOCK_TIMEOUT=1 desk-case fsck --repair > $T/b.out 2> $T/b.err
		brc=$?
		kill -CONT $fp
		wait $fp
		got75="$? $brc"
		break
	fi
	kill -CONT $fp
	wait $fp
done
is "$got75" "75 0" "fsck while a repair swapped the index in: 75 (the repair: 0)"
like $T/a.err "repaired or compacted by another process meanwhile" "and says why"
is "$(ls -A $DESK_STORE/tmp | wc -l | tr -d ' ')" 0 "tmp/ is empty"

done_testing
