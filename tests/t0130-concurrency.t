#!/bin/sh
# Four writers on one store at once: every message stored once, ids unique,
# one open case per user, fsck clean.
. "$(dirname "$0")/lib.sh"

# A writer waits its turn for the lock; past DESK_LOCK_TIMEOUT (10 s by
# default) it gives up with 75. Four writers, two of them syncing every
# event, on a loaded machine or under the sanitizers can keep one waiting
# that long: the wait's bound is t0162's, and here it is out of the way.
DESK_LOCK_TIMEOUT=300
export DESK_LOCK_TIMEOUT

with_channel app
gen() { # gen WRITER: 500 events over 50 users that all writers share
	awk -v w="$1" 'BEGIN { for (i = 1; i <= 500; i++)
		printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"id\":\"w%d-%d\",\"content\":\"m %d\"}\n", i % 50, w, i, i }'
}
for w in 1 2 3 4; do gen $w > $T/in.$w; done

# Two write in batches, two commit every event, so the lock changes hands often.
DESK_SYNC=event desk-case < $T/in.1 > $T/out.1 2> $T/err.1 & p1=$!
desk-case < $T/in.2 > $T/out.2 2> $T/err.2 & p2=$!
DESK_SYNC=event desk-case < $T/in.3 > $T/out.3 2> $T/err.3 & p3=$!
desk-case < $T/in.4 > $T/out.4 2> $T/err.4 & p4=$!
st=0
for p in $p1 $p2 $p3 $p4; do wait $p || st=$?; done
is "$st" 0 "all four writers exit 0"
is "$(cat $T/err.* | wc -c | tr -d ' ')" 0 "and say nothing on stderr"
cat $T/out.* > $T/all
is "$(lines $T/all)" 2000 "2,000 events answered"
is "$(jq .message_id $T/all | sort -un | wc -l | tr -d ' ')" 2000 "2,000 distinct message ids"
is "$(jq .message_id $T/all | sort -n | sed -n '1p;$p' | tr '\n' ' ')" "1 2000 " "ids 1..2000, none skipped"
run desk-case list
is "$(jq -s 'map(.message_count) | add' $OUT)" 2000 "the cases hold exactly 2,000 messages"
is "$(jq -s 'map(.user_id) | unique | length' $OUT)" 50 "50 users"
is "$(lines $OUT)" 50 "one case per user: no writer raced another into a second case"
run desk-case fsck
rc 0 "fsck: exit 0"
json $OUT '[.damage,.messages,.users,.cases]' '[0,2000,50,50]' "fsck: clean, and it counts the same"

# The same four streams again: every event is a duplicate, nothing is added.
for w in 1 2 3 4; do desk-case < $T/in.$w > $T/again.$w & done
wait
cat $T/again.* > $T/all2
is "$(jq -c 'select(.duplicate != true)' $T/all2 | wc -l | tr -d ' ')" 0 "replayed concurrently: all duplicates"
is "$(jq -S -c '{id,message_id}' $T/all | sort | md5sum)" "$(jq -S -c '{id,message_id}' $T/all2 | sort | md5sum)" \
	"with the same ids as the first time"
run desk-case list
is "$(jq -s 'map(.message_count) | add' $OUT)" 2000 "still 2,000 messages"

done_testing
