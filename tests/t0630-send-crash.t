#!/bin/sh
# kill -9 of desk-webhook send at random moments, again and again, then a
# --drain: every message delivered, each webhook-id the same on every
# attempt, and none received twice except where the kill fell between the
# receiver's answer and its record (an "inflight" record followed by
# another attempt's, with no answer recorded in between).
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/send-lib.sh"

stub app --delay-max 0.004
chan app custom "http://127.0.0.1:$PORT/"
users 50 app
N=1500
awk -v n=$N 'BEGIN { for (i = 0; i < n; i++) printf "{\"type\":\"reply\",\"case_id\":%d,\"content\":\"reply %d\"}\n", i % 50 + 1, i }' |
	desk-reply > $T/outs
is "$(lines $T/outs)" $N "$N replies queued"

: > $T/empty
i=0
for d in 0.05 0.3 0.01 0.15 0.2 0.08; do
	i=$((i + 1))
	killed $d $T/run.$i $T/empty desk-webhook send --drain
	is "$K_RC" 137 "run $i: still running when killed, ${d}s after its first answer"
	n=$(jq -c 'select(.status == "delivered")' $T/run.$i | wc -l | tr -d ' ')
	[ "$n" -ge 1 ]; ok $? "run $i: it had delivered something before the kill: $n"
	run desk-case fsck
	rc 0 "run $i: fsck is clean after the kill"
done
left=$(desk-webhook outbox | wc -l | tr -d ' ')
[ "$left" -ge 1 ]; ok $? "the kills left work undone: $left entries"
run desk-webhook send --drain
rc 0 "a last --drain delivers the rest: exit 0"
desk-webhook outbox --all > $T/all
json $T/all '.state' "$(yes '"delivered"' | head -n $N)" "all $N entries delivered"

cat > $T/check.py <<'PY'
import glob, json, sys
store, recv, outbox = sys.argv[1], sys.argv[2], sys.argv[3]
wid = {}            # message_id -> webhook_id, as the store says
oid = {}
for l in open(outbox):
    o = json.loads(l)
    wid[o["message_id"]] = o["webhook_id"]
    oid[o["webhook_id"]] = o["out_id"]
# The kill windows: an inflight record followed by another attempt's
# inflight, no answer recorded in between.
last, window = {}, {}
for seg in sorted(glob.glob(store + "/log/*.jsonl")):
    for l in open(seg):
        r = json.loads(l)
        if r.get("rec") != "delivery":
            continue
        k = r["out_id"]
        if r["state"] == "inflight" and last.get(k) == "inflight":
            window[k] = window.get(k, 0) + 1
        last[k] = r["state"]
got, wrong = {}, 0
for l in open(recv):
    r = json.loads(l)
    o = json.loads(r["body"])["object"]
    w = r["headers"]["webhook-id"]
    if wid.get(o["message_id"]) != w:
        wrong += 1
    got[w] = got.get(w, 0) + 1
missing = sum(1 for w in wid.values() if w not in got)
extra = sum(n - 1 for n in got.values())
unexplained = sum(max(0, n - 1 - window.get(oid.get(w), 0)) for w, n in got.items())
print("missing %d wrong-id %d unexplained %d" % (missing, wrong, unexplained))
print("twice %d windows %d" % (extra, sum(window.values())), file=sys.stderr)
PY
is "$(python3 $T/check.py $DESK_STORE $T/app.log $T/all 2> $T/dups)" "missing 0 wrong-id 0 unexplained 0" \
	"each message received, under its one webhook-id, twice only in a kill's window ($(cat $T/dups))"
run desk-case fsck
rc 0 "fsck is clean"

done_testing
