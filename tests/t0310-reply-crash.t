#!/bin/sh
# kill -9 of desk-reply mid-stream: a reply is in its case and in the outbox
# together or not at all; what was printed is queued; a replay adds nothing.
. "$(dirname "$0")/lib.sh"

with_channel app
awk 'BEGIN { for (i = 1; i <= 50; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"content\":\"hi\"}\n", i }' | desk-case > /dev/null
awk 'BEGIN { for (i = 1; i <= 4000; i++) printf "{\"type\":\"reply\",\"case_id\":%d,\"id\":\"r%d\",\"content\":\"reply %d\",\"via\":\"%s\"}\n", i % 50 + 1, i, i, i % 3 ? "agent" : "api" }' > $T/in

i=0
for d in 0.05 0.15 0.02 0.3 0.1; do
	i=$((i + 1))
	if [ $((i % 2)) -eq 0 ]; then sync=event; else sync=batch; fi
	killed $d $T/out.$i env DESK_SYNC=$sync desk-reply < $T/in
	run desk-case fsck
	rc 0 "run $i (DESK_SYNC=$sync, killed after ${d}s): fsck exit 0"
	json $OUT '.damage' 0 "run $i: every reply in a case is in the outbox and the other way round"
	grep '}$' $T/out.$i | jq -r .out_id | sort > $T/printed.$i || true
	desk-reply outbox | jq -r .out_id | sort > $T/queued.$i
	is "$(comm -23 $T/printed.$i $T/queued.$i | wc -l | tr -d ' ')" 0 \
		"run $i: all $(wc -l < $T/printed.$i | tr -d ' ') printed replies are queued"
done
run desk-reply $T/in
rc 0 "a last run completes"
is "$(desk-reply outbox | wc -l | tr -d ' ')" 4000 "4,000 replies queued, none twice"
is "$(desk-case list | jq -s 'map(.message_count) | add')" 4050 "4,000 replies and 50 user messages in the cases"

done_testing
