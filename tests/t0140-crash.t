#!/bin/sh
# kill -9 of desk-case mid-stream, again and again: fsck stays clean and
# every event it printed before it died is in the store.
. "$(dirname "$0")/lib.sh"

with_channel app
# Each killed run gets events of its own, so that what it does until the kill
# is writing (a duplicate costs no write), and more than it can get through
# (a batch is answered at 4,096 events). The last run gets every run's
# events up to a little past where its kill landed.
gen() { # gen RUN COUNT
	awk -v r="$1" -v n="$2" 'BEGIN { for (i = 1; i <= n; i++)
	printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"id\":\"e%d-%d\",\"content\":\"message %d\"}\n", i % 700, r, i, i }'
}

# Half the runs commit every event, so the kill lands in every phase. The
# delay counts from its first answer (see killed in lib.sh).
i=0 stored=0 midbatch=0
: > $T/in
for run in batch:0.05 event:0.2 batch:0.1 event:0.05 batch:0.01 event:0.15 batch:0.15 event:0.02; do
	i=$((i + 1)) sync=${run%:*} d=${run#*:}
	n=10000; [ $sync = batch ] && n=30000
	gen $i $n > $T/in.$i
	killed $d $T/out.$i $T/in.$i env DESK_SYNC=$sync desk-case
	is "$K_RC" 137 "run $i (DESK_SYNC=$sync): still running when killed, ${d}s after its first answer"
	# A line cut by the kill was never complete.
	grep '}$' $T/out.$i > $T/printed.$i || true
	p=$(lines $T/printed.$i)
	[ "$p" -ge 1 ] && [ "$p" -lt $n ]; ok $? "run $i: it had answered some of its $n events: $p"
	run desk-case fsck
	rc 0 "run $i: fsck exit 0"
	json $OUT '.damage' '0' "run $i: no damage"
	# Written but not yet answered: the kill landed in the middle of a batch.
	w=$(($(jq .messages $OUT) - stored))
	[ $w -gt "$p" ] && midbatch=$((midbatch + 1))
	stored=$((stored + w))
	head -n $((w + 100)) $T/in.$i >> $T/in
	# What it printed must be in the store: fed again, each is a duplicate
	# with the same message id.
	jq -c 'del(.user_id,.case_id,.message_id,.trigger,.case_status,.duplicate)' \
		$T/printed.$i > $T/replay.$i
	desk-case < $T/replay.$i > $T/check.$i
	is "$(jq -c 'select(.duplicate != true)' $T/check.$i | wc -l | tr -d ' ')" 0 \
		"run $i: all $p printed events are stored"
	is "$(jq -c '[.id,.message_id]' $T/check.$i | md5sum)" "$(jq -c '[.id,.message_id]' $T/printed.$i | md5sum)" \
		"run $i: with the ids it printed"
done
total=$(lines $T/in)
[ $midbatch -ge 1 ]; ok $? "in $midbatch runs the kill took events it had written and not yet answered"

# Finally let one run finish: every event stored exactly once.
run desk-case $T/in
rc 0 "a last run completes"
run desk-case list
is "$(jq -s 'map(.message_count) | add' $OUT)" $total "$total events, $total messages: none twice, none lost"
run desk-case fsck
json $OUT '[.damage,.messages]' "[0,$total]" "fsck agrees"

done_testing
