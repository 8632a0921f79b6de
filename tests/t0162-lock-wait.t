#!/bin/sh
# The writer lock's bounded wait needs no signal: no SIGALRM handler, no
# interval timer (both are the whole process's, and a server's threads
# share them). A writer that finds the lock held polls it until
# $DESK_LOCK_TIMEOUT and then exits 75, or takes it soon after its release.
# The lock is held (hold, lib.sh) until the test lets go, never for a fixed
# time, and each bound on wall time grows with what the same run takes
# without the wait, measured in this run, so that a loaded machine meets
# them too.
. "$(dirname "$0")/lib.sh"

msg() { printf '{"channel":"app","user_custom_id":"%s","content":"%s"}\n' "$1" "$2"; }

with_channel app
runin "$(msg u1 hi)" desk-case
rc 0 "a first message makes the store"

# --- the wait: what the waiting process has installed ---
# Looked at while it waits (it has lock.wait open), with a wait too long
# for a loaded machine to end it before the look.
hold $DESK_STORE/lock
msg u2 waits > $T/in
DESK_LOCK_TIMEOUT=120 desk-case $T/in > $T/o 2> $T/e &
waiter=$!
eventually 60 lock_waiting $waiter
kill -0 $waiter 2> /dev/null; ok $? "the writer is still waiting for the lock"
cgt=$(awk '/^SigCgt:/ { print $2 }' /proc/$waiter/status 2> /dev/null)
[ -n "$cgt" ]; ok $? "its caught signals can be read (SigCgt: $cgt)"
# SIGALRM is signal 14: bit 13 of the mask.
is "$(( (0x${cgt:-0} >> 13) & 1 ))" 0 "it has no SIGALRM handler while it waits"
kill $waiter
wait $waiter 2> /dev/null

# --- the bound: 75 after DESK_LOCK_TIMEOUT, and not much later ---
# What a run costs besides the wait is the same run with no wait
# (DESK_LOCK_TIMEOUT=0), timed just before and just after it.
timed env DESK_LOCK_TIMEOUT=0 desk-case $T/in
cost=$MS
rc 75 "with DESK_LOCK_TIMEOUT=0 it gives up at once: 75"
timed env DESK_LOCK_TIMEOUT=2 desk-case $T/in
took=$MS
cp $OUT $T/o
cp $ERR $T/e
waited_rc=$RC
timed env DESK_LOCK_TIMEOUT=0 desk-case $T/in
[ $MS -gt $cost ] && cost=$MS
is "$waited_rc" 75 "it gives up with 75 after DESK_LOCK_TIMEOUT"
like $T/e "locked by another writer; gave up after 2 s \(DESK_LOCK_TIMEOUT\)" \
	"and says why"
[ $took -ge 2000 ] && [ $took -lt $((2500 + 2 * cost)) ]
ok $? "it waited about 2 s (${took} ms; the run without the wait: ${cost} ms)"
is "$(wc -c < $T/o | tr -d ' ')" 0 "nothing was acknowledged"
release

# --- the system calls of a whole wait: no signal, no timer ---
if command -v strace > /dev/null; then
	hold $DESK_STORE/lock
	DESK_LOCK_TIMEOUT=0.5 strace -f -o $T/trace \
		-e trace=rt_sigaction,setitimer,alarm,timer_create,flock \
		desk-case $T/in > $T/o 2> $T/e
	RC=$?
	is "$RC" 75 "under strace too it gives up with 75"
	grep -q 'flock(.*LOCK_EX|LOCK_NB' $T/trace; ok $? "it polls the lock with LOCK_NB"
	n=$(grep -c -E 'SIGALRM|setitimer|alarm\(|timer_create' $T/trace)
	is "$n" 0 "no SIGALRM handler, interval timer, alarm or POSIX timer"
	[ "$n" -gt 0 ] && grep -E 'SIGALRM|setitimer|alarm\(|timer_create' $T/trace |
		head -3 | sed 's/^/#   /'
	n=$(grep -c 'flock(' $T/trace)
	[ "$n" -ge 3 ] && [ "$n" -le 200 ]; ok $? "it looked at the lock a bounded number of times ($n)"
	release
else
	for i in 1 2 3 4; do pass "# SKIP no strace"; done
fi

# --- released: the poll takes it soon after ---
# "Soon" against the same work with the lock free (other users' messages),
# timed just before and just after: from the release to its exit a waiter
# does that work after one nap of its poll (8 ms at most), never a wait to
# its deadline (and DESK_LOCK_TIMEOUT=120 bounds the wait for it).
msg u3 free > $T/free
timed desk-case $T/free
free=$MS
rc 0 "with the lock free a writer takes it at once (${free} ms)"
hold $DESK_STORE/lock
DESK_LOCK_TIMEOUT=120 desk-case $T/in > $OUT 2> $ERR &
waiter=$!
eventually 60 lock_waiting $waiter
start=$(date +%s%N)
release
wait $waiter
RC=$?
took=$((($(date +%s%N) - start) / 1000000))
rc 0 "a writer that waits takes the lock once it is released"
msg u4 free > $T/free
timed desk-case $T/free
[ $MS -gt $free ] && free=$MS
[ $took -lt $((1000 + 2 * free)) ]
ok $? "soon after the release (${took} ms after it; the same work with the lock free: ${free} ms)"
run desk-case list --user-custom-id u2
is "$(jq -s length $OUT)" 1 "and its message is stored"

done_testing
