#!/bin/sh
# A writer streaming batches lets go of the lock between them for only
# microseconds; another writer waiting for it (desk-case set, compact's
# swap) still gets its turn within DESK_LOCK_TIMEOUT (5 s: a batch under a
# loaded machine may take more than 1 s).
. "$(dirname "$0")/lib.sh"

with_channel app
printf '%s\n' '{"channel":"app","user_custom_id":"x","content":"x"}' | desk-case > /dev/null
awk 'BEGIN { for (i = 1; i <= 400000; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"content\":\"m %d\"}\n", i % 5000, i }' > $T/in
desk-case $T/in > /dev/null &
w=$!
# Until the stream holds the lock in batches.
n=0
while [ ! -s $DESK_STORE/index/messages.slots ] && [ $n -lt 500 ]; do sleep 0.01; n=$((n + 1)); done
sleep 0.5
got=0
for i in 1 2 3 4 5 6; do
	DESK_LOCK_TIMEOUT=5 desk-case set 1 --status pending > /dev/null 2> $T/err.$i && got=$((got + 1))
done
kill -0 $w 2> /dev/null; ok $? "the stream was still writing throughout"
kill $w 2> /dev/null
wait $w
is "$got" 6 "desk-case set got the lock each of 6 times beside the stream, within 5 s"
run desk-case fsck
rc 0 "fsck passes"

done_testing
