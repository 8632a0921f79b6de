#!/bin/sh
# kill -9 of desk-reply mid-stream: a reply is in its case and in the outbox
# together or not at all; what was printed is queued; a replay adds nothing.
. "$(dirname "$0")/lib.sh"

with_channel app
awk 'BEGIN { for (i = 1; i <= 50; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"content\":\"hi\"}\n", i }' > $T/users
desk-case < $T/users > /dev/null
# Replies of its own for each killed run, more than it can get through; the
# last run gets them up to a little past where the kill landed (see t0140).
gen() { # gen RUN COUNT
	awk -v r="$1" -v n="$2" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"type\":\"reply\",\"case_id\":%d,\"id\":\"r%d-%d\",\"content\":\"reply %d\",\"via\":\"%s\"}\n", i % 50 + 1, r, i, i, i % 3 ? "agent" : "api" }'
}

i=0 queued=0 midbatch=0
: > $T/in
# one_run SYNC:DELAY: a run killed DELAY s after its first answer.
one_run() {
	i=$((i + 1)) sync=${1%:*} d=${1#*:}
	n=10000; [ $sync = batch ] && n=30000
	gen $i $n > $T/in.$i
	killed $d $T/out.$i $T/in.$i env DESK_SYNC=$sync desk-reply
	is "$K_RC" 137 "run $i (DESK_SYNC=$sync): still running when killed, ${d}s after its first answer"
	grep '}$' $T/out.$i | jq -r .out_id | sort > $T/printed.$i || true
	p=$(lines $T/printed.$i)
	[ "$p" -ge 1 ] && [ "$p" -lt $n ]; ok $? "run $i: it had answered some of its $n replies: $p"
	run desk-case fsck
	rc 0 "run $i: fsck exit 0"
	json $OUT '.damage' 0 "run $i: every reply in a case is in the outbox and the other way round"
	desk-reply outbox | jq -r .out_id | sort > $T/queued.$i
	is "$(comm -23 $T/printed.$i $T/queued.$i | wc -l | tr -d ' ')" 0 \
		"run $i: all $p printed replies are queued"
	# Queued but not yet answered: the kill landed in the middle of a batch.
	w=$(($(lines $T/queued.$i) - queued))
	[ $w -gt "$p" ] && midbatch=$((midbatch + 1))
	queued=$((queued + w))
	head -n $((w + 100)) $T/in.$i >> $T/in
}
for run in batch:0.05 event:0.15 batch:0.01 event:0.3 batch:0.1; do
	one_run $run
done
# Where the kill lands is chance (a slow build, a loaded machine may miss
# the moment five times): more runs until one lands mid-batch, ten at most.
for d in 0.02 0.03 0.04 0.06 0.07 0.08 0.09 0.12 0.15 0.2; do
	[ $midbatch -eq 0 ] || break
	one_run batch:$d
done
total=$(lines $T/in)
[ $midbatch -ge 1 ]; ok $? "in $midbatch of $i runs the kill took replies it had queued and not yet answered"
run desk-reply $T/in
rc 0 "a last run completes"
is "$(desk-reply outbox | wc -l | tr -d ' ')" $total "$total replies queued, none twice"
is "$(desk-case list | jq -s 'map(.message_count) | add')" $((total + 50)) "$total replies and 50 user messages in the cases"

done_testing
