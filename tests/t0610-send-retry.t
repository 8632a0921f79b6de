#!/bin/sh
# desk-webhook send's retries under DESK_NOW: the schedule (now, 5 s, 5 min,
# 30 min, 2 h, 5 h, 10 h, 10 h with jitter, then dead), the same webhook-id
# on every attempt, Retry-After, 4xx dead at once, 410 deactivating the
# channel, redirects never followed, dead list and dead retry.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/send-lib.sh"

T0=$(now_s)
at() { DESK_NOW=$((T0 + $1)); export DESK_NOW; }
delivery() { jq -c 'select(.type == "delivery") | [.out_id, .status, .http_status, .attempt, .next_attempt_at]' "$1"; }
iso() { date -u -d "@$((T0 + $1))" +%Y-%m-%dT%H:%M:%SZ; }

# Fails twice, then succeeds: three attempts, one webhook-id, delivered once.
stub flaky --fail 2
chan flaky custom "http://127.0.0.1:$PORT/"
c=$(newcase flaky)
o1=$(reply $c 'try me')
at 0
run desk-webhook send --drain
rc 75 "attempt 1 fails (500): --drain exits 75, some is left"
is "$(delivery $OUT)" "[$o1,\"retry\",500,1,\"$(iso 5)\"]" "retry in 5 s"
at 4
run desk-webhook send --drain
rc 75 "4 s later: not due yet, exit 75"
is "$(lines $OUT)" 0 "nothing attempted before it is due"
at 5
run desk-webhook send --drain
is "$(delivery $OUT | jq -c '.[0:4]')" "[$o1,\"retry\",500,2]" "attempt 2 at 5 s fails"
n=$(delivery $OUT | jq -r '.[4]' | xargs -I{} date -u -d {} +%s)
[ $n -ge $((T0 + 5 + 300)) ] && [ $n -le $((T0 + 5 + 330)) ]; ok $? "retry 5 min later, with at most 10% jitter: $((n - T0 - 5)) s"
DESK_NOW=$n
run desk-webhook send --drain
rc 0 "attempt 3 succeeds: exit 0"
is "$(delivery $OUT)" "[$o1,\"delivered\",200,3,null]" "delivered at attempt 3"
is "$(jq -r '.headers["webhook-id"]' $T/flaky.log | sort -u | wc -l | tr -d ' ')" 1 "one webhook-id on all three attempts"
json $T/flaky.log '.status' '500
500
200' "the receiver saw 500, 500, 200: delivered once"
is "$(jq -r '.headers["webhook-timestamp"]' $T/flaky.log | tr '\n' ' ')" "$T0 $((T0 + 5)) $n " \
	"webhook-timestamp is each attempt's own time"

# The whole schedule against a receiver that always fails: 8 attempts, dead.
stub down --status 503
chan down custom "http://127.0.0.1:$PORT/"
c=$(newcase down)
o2=$(reply $c 'never')
at 0
t=0 prev=0
for i in 1 2 3 4 5 6 7 8; do
	DESK_NOW=$((T0 + t))
	desk-webhook send --drain > $T/o.$i
	last=$(delivery $T/o.$i | tail -n 1)
	case $(echo "$last" | jq -r '.[1]') in
	retry) nt=$(echo "$last" | jq -r '.[4]' | xargs -I{} date -u -d {} +%s); echo "$((nt - T0 - t))" >> $T/gaps; t=$((nt - T0)) ;;
	*) break ;;
	esac
done
is "$(echo "$last" | jq -c '.[0:4]')" "[$o2,\"dead\",503,8]" "after 8 attempts: dead"
# Each gap is the schedule's, plus up to a tenth.
awk 'BEGIN { split("5 300 1800 7200 18000 36000 36000", s) } { if ($1 < s[NR] || $1 > s[NR] * 1.1) bad++ } END { exit bad || NR != 7 }' $T/gaps
ok $? "the gaps follow now, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: $(tr '\n' ' ' < $T/gaps)"
[ $t -ge $((26 * 3600)) ] && [ $t -le $((30 * 3600)) ]; ok $? "about 27 hours in all: $t s"
is "$(lines $T/down.log)" 8 "the receiver got 8 attempts"
jq -r 'select(.type == "delivery") | .error' $T/o.8 > $T/why
like $T/why 'gave up after 8 attempts: .*503' "the dead letter says why"

# dead list and dead retry.
run desk-webhook dead list
json $OUT '[.out_id, .state, .attempt]' "[$o2,\"dead\",8]" "dead list: the entry, dead at attempt 8"
run desk-webhook dead retry $o1
rc 65 "dead retry of an entry that is not dead: exit 65"
like $ERR "outbox $o1 is delivered, not dead" "it says so"
run desk-webhook dead retry $o2
rc 0 "dead retry: exit 0"
is "$(desk-webhook outbox | jq -c '[.out_id, .state, .attempt]')" "[$o2,\"pending\",0]" "queued again, from the first attempt"
kill $(echo $STUBS | awk '{ print $2 }')
stub up
chan_set down ".url = \"http://127.0.0.1:$PORT/\""
run desk-webhook send --drain
rc 0 "the receiver is back: delivered"
is "$(delivery $OUT)" "[$o2,\"delivered\",200,1,null]" "delivered at attempt 1 of its new schedule"
run desk-webhook dead list
rc 1 "dead list: none left (exit 1)"

# Retry-After (429) is honoured over the schedule.
stub slow --fail 1 --fail-status 429 --header 'Retry-After: 120'
chan slow custom "http://127.0.0.1:$PORT/"
c=$(newcase slow)
o=$(reply $c 'later please')
at 0
run desk-webhook send --drain
is "$(delivery $OUT)" "[$o,\"retry\",429,1,\"$(iso 120)\"]" "429 with Retry-After: 120: retried in 120 s"

# A 4xx other than 410 and 429: dead at once.
stub picky --status 422
chan picky custom "http://127.0.0.1:$PORT/"
c=$(newcase picky)
o=$(reply $c 'bad')
run desk-webhook send --drain
rc 75 "422: exit 75, the retry after the 429 is still queued"
is "$(delivery $OUT)" "[$o,\"dead\",422,1,null]" "422: dead at once"

# 410: the channel is deactivated and its queue dead-lettered.
stub gone --status 410
chan gone custom "http://127.0.0.1:$PORT/"
c=$(newcase gone)
c2=$(newcase gone)
reply $c 'one' > /dev/null
reply $c 'two' > /dev/null
reply $c2 'three' > /dev/null
run desk-webhook send --drain
rc 75 "410: exit 75 (the 429 retry is still queued)"
is "$(lines $T/gone.log)" 1 "after the 410 nothing more is sent to the channel"
json "$(desk-webhook channel show gone > $T/ch; echo $T/ch)" '[.active, (.inactive_reason | test("410"))]' '[false,true]' \
	"the channel is saved inactive, with the reason"
desk-webhook dead list | jq -c 'select(.channel == "gone") | [.state, (.error | test("410"))]' > $T/dead
is "$(sort -u $T/dead)" '["dead",true]' "every entry of the channel is dead, with the reason"
is "$(lines $T/dead)" 3 "all three of them"
n=$(desk-webhook dead list | wc -l | tr -d ' ')
run desk-webhook dead retry --all
rc 0 "dead retry --all: exit 0"
is "$(lines $OUT)" "$n" "it names each of the $n dead entries"
run desk-webhook dead list
rc 1 "none is dead any more"
is "$(desk-webhook outbox | jq -r 'select(.channel == "gone") | .state' | sort -u)" pending \
	"the gone channel's entries wait, pending, for it to be active again"
run desk-webhook dead retry
rc 64 "dead retry with neither ids nor --all: usage, exit 64"

# A redirect is a failure, never followed.
stub moved --status 302
chan moved custom "http://127.0.0.1:$PORT/"
c=$(newcase moved)
o=$(reply $c 'where')
at 0
run desk-webhook send --drain
is "$(delivery $OUT | grep "^\\[$o," | jq -c '.[0:4]')" "[$o,\"retry\",302,1]" "302: a failure, retried"
is "$(lines $T/moved.log)" 1 "the receiver got one request: the redirect was not followed"
like $OUT 'redirect' "the error says it was a redirect"

# Connection refused: retried on the schedule.
# A port nobody listens on: a receiver's, once it is gone.
stub shut
kill $(echo $STUBS | awk '{ print $NF }')
wait $(echo $STUBS | awk '{ print $NF }') 2> /dev/null
chan closed custom "http://127.0.0.1:$PORT/"
c=$(newcase closed)
o=$(reply $c 'nobody')
run desk-webhook send --drain
delivery $OUT | grep "^\\[$o," > $T/c
is "$(jq -c '.[0:4]' $T/c)" "[$o,\"retry\",null,1]" "a refused connection: retried, no HTTP status"

# The schedule is the channel's own when it has one.
stub flaky2 --fail 3
chan flaky2 custom "http://127.0.0.1:$PORT/"
chan_set flaky2 '.retry_schedule = [0, 0]'
c=$(newcase flaky2)
o=$(reply $c 'short schedule')
at 0
run desk-webhook send --drain
delivery $OUT | grep "^\\[$o," > $T/s
is "$(jq -c '.[0:4]' $T/s | tr '\n' ' ')" "[$o,\"retry\",500,1] [$o,\"retry\",500,2] [$o,\"dead\",500,3] " \
	"retry_schedule [0, 0]: three attempts, at once, then dead"
# The filter wakes for a retry that comes due while its input is open (on
# the real clock: a schedule of 1 s; what else is queued goes too). The
# input stays open until the delivery is seen, or for a minute: a filter
# that waited for its input to end delivers nothing in that minute.
stub wake --fail 1
chan wake custom "http://127.0.0.1:$PORT/"
chan_set wake '.retry_schedule = [1]'
c=$(newcase wake)
o=$(reply $c 'wake up')
tail -n 1 $T/outs > $T/one
mkfifo $T/fifo
( cat $T/one; eventually 60 test -e $T/close ) > $T/fifo &
feeder=$!
: > $T/woke
env -u DESK_NOW desk-webhook send < $T/fifo >> $T/woke &
sender=$!
got() { [ "$(jq -c "select(.out_id == $o and .status == \"delivered\")" $T/woke 2> /dev/null | grep -c .)" -ge 1 ]; }
eventually 60 got
seen=$?
kill -0 $feeder 2> /dev/null
open=$?
touch $T/close
[ $seen -eq 0 ] && [ $open -eq 0 ]; ok $? "the retry was delivered while the input was still open"
wait $sender
jq -c "select(.out_id == $o) | [.status, .attempt]" $T/woke > $T/w
is "$(cat $T/w | tr '\n' ' ')" '["retry",1] ["delivered",2] ' "the filter woke for the retry"
# By the receiver's clock the second attempt is in a later second than
# the first: due a second after the failure, on send's clock of whole
# seconds, and never sooner however slow the machine is.
jq -r '.t | floor' $T/wake.log | tr '\n' ' ' > $T/secs
awk '{ exit !(NF == 2 && $2 > $1) }' $T/secs; ok $? "the retry a second after the failure, not before ($(cat $T/secs))"
wait $feeder

run desk-case fsck
rc 0 "fsck is clean"

done_testing
