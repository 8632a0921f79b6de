#!/bin/sh
# kill -9 of desk-case mid-stream, again and again: fsck stays clean and
# every event it printed before it died is in the store.
. "$(dirname "$0")/lib.sh"

with_channel app
awk 'BEGIN { for (i = 1; i <= 6000; i++)
	printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"id\":\"e%d\",\"content\":\"message %d\"}\n", i % 700, i, i }' > $T/in

delays="0.05 0.2 0.1 0.35 0.02 0.15 0.3 0.08"
i=0
for d in $delays; do
	i=$((i + 1))
	# Half the runs commit every event, so the kill lands in every phase.
	if [ $((i % 2)) -eq 0 ]; then sync=event; else sync=batch; fi
	killed $d $T/out.$i env DESK_SYNC=$sync desk-case < $T/in
	run desk-case fsck
	rc 0 "run $i (DESK_SYNC=$sync, killed after ${d}s): fsck exit 0"
	json $OUT '.damage' '0' "run $i: no damage"
	# What it printed must be in the store: fed again, each is a duplicate
	# with the same message id. A line cut by the kill was never complete.
	grep '}$' $T/out.$i > $T/printed.$i || true
	jq -c 'del(.user_id,.case_id,.message_id,.trigger,.case_status,.duplicate)' \
		$T/printed.$i > $T/replay.$i
	desk-case < $T/replay.$i > $T/check.$i
	is "$(jq -c 'select(.duplicate != true)' $T/check.$i | wc -l | tr -d ' ')" 0 \
		"run $i: all $(lines $T/printed.$i) printed events are stored"
	is "$(jq -c '[.id,.message_id]' $T/check.$i | md5sum)" "$(jq -c '[.id,.message_id]' $T/printed.$i | md5sum)" \
		"run $i: with the ids it printed"
done

# Finally let one run finish: every event stored exactly once.
run desk-case $T/in
rc 0 "a last run completes"
run desk-case list
is "$(jq -s 'map(.message_count) | add' $OUT)" 6000 "6,000 events, 6,000 messages: none twice, none lost"
run desk-case fsck
json $OUT '[.damage,.messages]' '[0,6000]' "fsck agrees"

done_testing
