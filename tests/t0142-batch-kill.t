#!/bin/sh
# desk-case fed in bursts, so that it commits and answers batch after
# batch, killed -9 at a random moment, or by strace at a random one of its
# writes of a later batch, or failed by an injected I/O error (EIO, ENOSPC)
# at a random sync or write: every event it answered before is in the
# store, fsck passes, and a replay of its input completes it. The seed is
# printed; SEED=N reruns one.
. "$(dirname "$0")/lib.sh"

seed=${SEED:-$$}
echo "# SEED=$seed"
# rnd LO HI: a number in [LO, HI], the seed's for run $r.
rnd() { awk -v s=$seed -v i=$r -v lo=$1 -v hi=$2 \
	'BEGIN { srand(s + i * 7919); printf "%d\n", lo + int(rand() * (hi - lo + 1)) }'; }
# nth CALL RUN: how many CALLs desk-case makes over the run's input, in a
# copy of the store; then a random one of the middle half of them.
nth() {
	rm -rf $T/copy; cp -a $DESK_STORE $T/copy
	feed $T/in.$2 | DESK_STORE=$T/copy strace -f -o $T/count -e trace=$1 desk-case > /dev/null
	c=$(grep -c "$1(" $T/count)
	rnd $((c / 4)) $((c * 3 / 4))
}

with_channel app
# gen RUN: 3,000 events of the run's own, in bursts of 150 with a pause
# between, so each burst is a batch of its own and answered before the next.
gen() {
	awk -v r="$1" 'BEGIN { for (i = 1; i <= 3000; i++)
	printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"id\":\"e%d-%d\",\"content\":\"message %d\"}\n", (i * 7 + r) % 900, r, i, i }' > $T/in.$1
}
feed() { # feed FILE: in bursts
	awk 'NR % 150 == 1 && NR > 1 { fflush(); system("sleep 0.05") } { print }' "$1"
}
# acked RUN: what it printed is stored: fed again, each is a duplicate
# with the message id it printed; and fsck passes.
acked() {
	grep '}$' $T/out.$1 > $T/printed.$1 || true
	p=$(lines $T/printed.$1)
	run desk-case fsck
	[ $RC -eq 0 ] && [ "$(jq .damage $OUT)" = 0 ]
	ok $? "run $1 ($2): fsck passes"
	jq -c 'del(.user_id,.case_id,.message_id,.trigger,.case_status,.duplicate)' \
		$T/printed.$1 > $T/replay.$1
	desk-case < $T/replay.$1 > $T/check.$1
	is "$(jq -c 'select(.duplicate != true)' $T/check.$1 | wc -l | tr -d ' ')" 0 \
		"run $1: all $p events it answered are stored"
	is "$(jq -c '[.id,.message_id]' $T/check.$1 | md5sum)" \
		"$(jq -c '[.id,.message_id]' $T/printed.$1 | md5sum)" "run $1: with the ids it printed"
	cat $T/in.$1 >> $T/all
}
: > $T/all
mkfifo $T/fifo
r=0

# kill -9 at a random moment after its first answer.
for i in 1 2 3 4 5; do
	r=$((r + 1)); gen $r
	d=$(rnd 0 400)
	feed $T/in.$r > $T/fifo &
	fpid=$!
	desk-case < $T/fifo > $T/out.$r 2> $T/err.$r &
	pid=$!
	n=0
	while [ ! -s $T/out.$r ] && [ $n -lt 3000 ] && kill -0 $pid 2> /dev/null; do
		sleep 0.01; n=$((n + 1))
	done
	sleep $(awk -v d=$d 'BEGIN { print d / 1000 }')
	kill -9 $pid 2> /dev/null
	wait $pid
	st=$?
	kill $fpid 2> /dev/null; wait $fpid 2> /dev/null
	p=$(grep -c '}$' $T/out.$r)
	[ $st -eq 137 ] && [ "$p" -ge 1 ] && [ "$p" -lt 3000 ]
	ok $? "run $r: killed ${d} ms after its first answer, having answered $p of 3000"
	acked $r "kill -9 after ${d} ms"
done

if command -v strace > /dev/null; then
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	landed=0 failed=0
	# killed at its Nth write or pwrite64, N past the first batches'.
	for call in pwrite64 write pwrite64 write fdatasync; do
		r=$((r + 1)); gen $r
		k=$(nth $call $r)
		feed $T/in.$r | strace -f -o /dev/null -e trace=$call \
			-e inject=$call:signal=KILL:when=$k desk-case > $T/out.$r 2> $T/err.$r
		p=$(grep -c '}$' $T/out.$r)
		# A batch also ends after a second, so a slow run (sanitizers, a
		# loaded box) makes more or fewer calls than the count said.
		[ "$p" -ge 1 ] && [ "$p" -lt 3000 ] && landed=$((landed + 1))
		echo "# run $r: killed at its ${call} number $k, having answered $p of 3000"
		acked $r "$call $k: SIGKILL"
	done
	[ $landed -ge 3 ]; ok $? "in $landed of 5 runs the kill came after answers and before the end"
	# An I/O error: it stops (74) without answering the batch.
	for f in fdatasync:EIO pwrite64:EIO write:ENOSPC pwrite64:ENOSPC fdatasync:EIO; do
		r=$((r + 1)); gen $r
		call=${f%:*} err=${f#*:}
		k=$(nth $call $r)
		feed $T/in.$r | strace -f -o /dev/null -e trace=$call \
			-e inject=$call:error=$err:when=$k desk-case > $T/out.$r 2> $T/err.$r
		st=$?
		p=$(grep -c '}$' $T/out.$r)
		if [ $st -eq 74 ] && [ "$p" -lt 3000 ]; then
			failed=$((failed + 1))
			like $T/err.$r "desk-case: .*(Input/output error|No space left)" "run $r: it says why"
		else
			is "$st $p" "0 3000" "run $r: not failed, it took all"
		fi
		echo "# run $r: $call number $k failed with $err: exit $st, having answered $p of 3000"
		acked $r "$call $k: $err"
	done
	[ $failed -ge 3 ]; ok $? "in $failed of 5 runs the error stopped it (74) before the end"
	# The sync of the directory a new file was made in (a fresh store's
	# slot files): nothing answered, and the next writer takes it all.
	DESK_STORE=$T/fresh desk-webhook channel add app > /dev/null
	gen 99
	DESK_STORE=$T/fresh strace -f -o /dev/null -e trace=fsync -e inject=fsync:error=EIO \
		desk-case < $T/in.99 > $T/out.99 2> $T/err.99
	st=$?
	is "$st $(lines $T/out.99)" "74 0" "a new file's directory not synced (EIO): exit 74, nothing answered"
	DESK_STORE=$T/fresh desk-case < $T/in.99 > /dev/null
	DESK_STORE=$T/fresh run desk-case fsck
	json $OUT '[.damage,.messages]' "[0,3000]" "... and the next run takes it all"
else
	echo "# strace not installed: no kills at a given write, no injected errors"
fi

# Finally all of it in one run: every event once.
run desk-case $T/all
rc 0 "a last run over all $(lines $T/all) events completes"
run desk-case fsck
json $OUT '[.damage,.messages]' "[0,$(lines $T/all)]" "fsck: every event stored once"

done_testing
