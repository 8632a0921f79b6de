#!/bin/sh
# desk-webhook serve under load: 2,000 POSTs 32 at a time come out as
# exactly 2,000 events; a kill -9 in the middle of a load loses no request
# that was answered 2xx and makes none count twice once desk-case has them;
# a downstream that reads nothing until the load is over makes no request
# fail. Each wait is on what it waits for (eventually, lib.sh), never a
# fixed sleep: a loaded machine or a sanitizer build is slower, not wrong.
. "$(dirname "$0")/lib.sh"

LOAD=$TOP/tests/serve-load.py
health() { curl -s --max-time 10 "http://127.0.0.1:$PORT/healthz"; }

active_channel shop

# ---- 2,000 at once ----
serve_start a
python3 "$LOAD" "$PORT" shop 2000 32 "$T/a.acked" --timeout 30 > "$T/a.load"
is "$(cat "$T/a.load" | cut -d' ' -f1-6)" "ok 2000 other 0 errors 0" "2,000 POSTs, 32 in parallel: every one answered 2xx"
health > "$T/a.health"
serve_stop
is "$SRC" 0 "SIGTERM: exit 0"
jq -r .id "$T/a.out" | sort > "$T/a.ids"
is "$(lines "$T/a.out")" 2000 "exactly 2,000 events on stdout"
cut -d' ' -f1 "$T/a.acked" | sort > "$T/a.want"
cmp -s "$T/a.ids" "$T/a.want"; ok $? "one for each request, none twice, none lost"
json "$T/a.health" '[.accepted, .emitted, .syncs < .accepted]' '[2000,2000,true]' \
	"fewer syncs than requests: commits are shared"

# ---- kill -9 under load, restart ----
rm -f "$T/k.acked"
: > "$T/k.acked"
# desk-case starts reading only after the kill, so that stdout fills and,
# past a small --emit-buffer, accepted deliveries wait in the store when
# the kill comes (however long the first 500 take).
mkfifo "$T/k.pipe"
( eventually 300 test -e "$T/k.killed"; exec desk-case > "$T/k.case1" 2> "$T/k.case1.err" ) < "$T/k.pipe" &
CPID=$!
SERVE_OUT=$T/k.pipe serve_start k --emit-buffer 10000
python3 "$LOAD" "$PORT" shop 6000 32 "$T/k.acked" --prefix kill --size 1000 > "$T/k.load" &
LPID=$!
acked500() { [ "$(lines "$T/k.acked")" -ge 500 ]; }
eventually 120 acked500
kill -9 $SPID
wait $SPID 2> /dev/null
KRC=$?
before=$(lines "$T/k.acked")
touch "$T/k.killed"
wait $LPID
wait $CPID
after=$(lines "$T/k.acked")
is "$KRC" 137 "serve was killed by the SIGKILL"
test "$before" -ge 500; ok $? "it had acknowledged requests before the kill ($before)"
# Answers already on their way when it died may be counted just after.
test $((after - before)) -le 32; ok $? "and nothing after it but answers in flight ($((after - before)))"
like "$T/k.load" ' errors [1-9]' "the rest of the load failed against the dead server"
SERVE_OUT=
serve_start r
like "$T/r.err" 'serve: [1-9][0-9]* deliveries accepted before were not written out' \
	"the restart found accepted deliveries the killed serve had not written out"
# Everything accepted before is written out first; then stop.
drained() { health | jq -e '.backlog == 0' > /dev/null 2>&1; }
eventually 120 drained
serve_stop
is "$SRC" 0 "the restarted serve drained and stopped with 0"
run desk-case < "$T/r.out"
rc 0 "desk-case takes what the restart wrote out"
# What the store holds: the event id of every message, by desk-case show.
desk-case list --channel shop --limit 100000 | jq -r .case_id > "$T/cases"
while read -r c; do desk-case show "$c"; done < "$T/cases" |
	jq -r '.messages[].event_id' | grep '^kill-' | sort > "$T/k.stored"
cut -d' ' -f1 "$T/k.acked" | sort > "$T/k.want"
missing=$(comm -23 "$T/k.want" "$T/k.stored" | wc -l)
is "$missing" 0 "every request that got a 2xx is a message in the store"
is "$(uniq -d "$T/k.stored" | wc -l)" 0 "and none is there twice"
desk-case fsck > /dev/null 2>&1; ok $? "desk-case fsck passes after the kill and the restart"

# ---- a stalled downstream ----
# The reader opens the pipe but reads nothing until the load is over and
# the backlog seen: stdout fills, and past --emit-buffer the events wait
# in the store. A serve that waited for its reader would answer nothing
# more, and its requests would time out.
mkfifo "$T/s.pipe"
( eventually 600 test -e "$T/s.go"; exec cat > "$T/s.out" ) < "$T/s.pipe" &
RPID=$!
SERVE_OUT=$T/s.pipe serve_start s --emit-buffer 20000
python3 "$LOAD" "$PORT" shop 1000 32 "$T/s.acked" --prefix stall --size 1000 --timeout 10 > "$T/s.load"
SERVE_OUT=
like "$T/s.load" '^ok 1000 other 0 errors 0 ' "with stdout not read, all 1,000 requests are answered 2xx in time"
health > "$T/s.health"
touch "$T/s.go"
json "$T/s.health" '.backlog > 500' true "while most of them wait to be written out"
serve_stop
wait $RPID
is "$SRC" 0 "SIGTERM waits for the reader, then exit 0"
jq -r .id "$T/s.out" | sort > "$T/s.ids"
cut -d' ' -f1 "$T/s.acked" | sort > "$T/s.want"
cmp -s "$T/s.ids" "$T/s.want"; ok $? "once read, every event comes out once"

done_testing
