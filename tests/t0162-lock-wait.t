#!/bin/sh
# The writer lock's bounded wait needs no signal: no SIGALRM handler, no
# interval timer (both are the whole process's, and a server's threads
# share them). A writer that finds the lock held polls it until
# $DESK_LOCK_TIMEOUT and then exits 75, or takes it soon after its release.
. "$(dirname "$0")/lib.sh"

msg() { printf '{"channel":"app","user_custom_id":"%s","content":"%s"}\n' "$1" "$2"; }

with_channel app
runin "$(msg u1 hi)" desk-case
rc 0 "a first message makes the store"

# hold LOCKFILE SECONDS: holds the lock from another process, in the
# background ($holder: flock -o, so killing it lets go), and returns once
# it is held.
hold() {
	flock -o "$1" sleep "$2" &
	holder=$!
	i=0
	while flock -n "$1" true && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
}

# --- the wait: what the waiting process has installed ---
hold $DESK_STORE/lock 6
msg u2 waits > $T/in
start=$(date +%s%N)
DESK_LOCK_TIMEOUT=2 desk-case $T/in > $T/o 2> $T/e &
waiter=$!
sleep 0.7
kill -0 $waiter 2> /dev/null; ok $? "the writer is still waiting for the lock"
cgt=$(awk '/^SigCgt:/ { print $2 }' /proc/$waiter/status 2> /dev/null)
[ -n "$cgt" ]; ok $? "its caught signals can be read (SigCgt: $cgt)"
# SIGALRM is signal 14: bit 13 of the mask.
is "$(( (0x${cgt:-0} >> 13) & 1 ))" 0 "it has no SIGALRM handler while it waits"
wait $waiter
RC=$?
took=$(( ($(date +%s%N) - start) / 1000000 ))
is "$RC" 75 "it gives up with 75 after DESK_LOCK_TIMEOUT"
like $T/e "locked by another writer; gave up after 2 s \(DESK_LOCK_TIMEOUT\)" \
	"and says why"
[ $took -ge 1900 ] && [ $took -lt 4500 ]; ok $? "it waited about 2 s (${took} ms)"
is "$(wc -c < $T/o | tr -d ' ')" 0 "nothing was acknowledged"
kill $holder 2> /dev/null
wait $holder 2> /dev/null

# --- the system calls of a whole wait: no signal, no timer ---
if command -v strace > /dev/null; then
	hold $DESK_STORE/lock 4
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
	kill $holder 2> /dev/null
	wait $holder 2> /dev/null
else
	for i in 1 2 3 4; do pass "# SKIP no strace"; done
fi

# --- released: the poll takes it soon after ---
hold $DESK_STORE/lock 1
start=$(date +%s%N)
DESK_LOCK_TIMEOUT=10 run desk-case $T/in
took=$(( ($(date +%s%N) - start) / 1000000 ))
rc 0 "a writer that waits takes the lock once it is released"
[ $took -lt 2500 ]; ok $? "soon after the release (${took} ms, held for 1 s)"
wait $holder
run desk-case list --user-custom-id u2
is "$(jq -s length $OUT)" 1 "and its message is stored"

done_testing
