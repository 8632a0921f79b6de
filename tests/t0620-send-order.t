#!/bin/sh
# desk-webhook send keeps each case's order and runs cases in parallel: 50
# cases with 4 replies each, interleaved, to a receiver that answers after
# a random delay (so answers come back out of order).
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/send-lib.sh"

stub slow --delay-max 0.05
chan app custom "http://127.0.0.1:$PORT/"
users 50 app
awk 'BEGIN { for (r = 1; r <= 4; r++) for (c = 1; c <= 50; c++) printf "{\"type\":\"reply\",\"case_id\":%d,\"content\":\"case %d reply %d\"}\n", c, c, r }' |
	desk-reply > $T/outs
is "$(lines $T/outs)" 200 "200 replies queued, interleaved across 50 cases"

runpipe $T/outs desk-webhook send
rc 0 "send as a filter: exit 0"
is "$(jq -c 'select(.type == "delivery" and .status == "delivered")' $OUT | wc -l | tr -d ' ')" 200 "200 delivered"
is "$(lines $T/slow.log)" 200 "the receiver got 200 requests, none twice"
# Per case: each reply arrives only after the one before it was answered,
# and in the order they were written.
cat > $T/check.py <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
cases, bad, overlap = {}, 0, 0
for r in recs:
    o = json.loads(r["body"])["object"]
    cases.setdefault(o["case_id"], []).append((r["t"], r["t_done"], o["message_id"], o["content"]))
for c, rs in cases.items():
    rs.sort()
    for a, b in zip(rs, rs[1:]):
        if b[0] < a[1] or b[2] < a[2]:
            bad += 1
    if [x[3] for x in rs] != ["case %d reply %d" % (c, i) for i in range(1, 5)]:
        bad += 1
allr = sorted((r["t"], r["t_done"]) for r in recs)
# Requests that arrived while an earlier one was still unanswered.
for i in range(1, len(allr)):
    if any(allr[j][1] > allr[i][0] for j in range(max(0, i - 64), i)):
        overlap += 1
ooo = sum(1 for a, b in zip(recs, recs[1:]) if b["t"] < a["t"])
print(len(cases), bad, "parallel" if overlap > 50 else "serial", "out-of-order" if ooo > 0 else "in-order")
PY
is "$(python3 $T/check.py $T/slow.log)" "50 0 parallel out-of-order" \
	"50 cases, no reply before the previous one of its case was answered; cases in parallel, answered out of order"
run desk-case fsck
rc 0 "fsck is clean"

done_testing
