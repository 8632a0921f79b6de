#!/bin/sh
# desk-route tick finds its candidates through the status lists
# (desk-store(5)), not by reading every case: a case that went pending,
# open and pending again is due from the second time, a case set pending
# with the clock behind the others' still comes first, and the slots of
# cases in other statuses are never read (one of them damaged does not
# matter; the scan tick did before met it).
. "$(dirname "$0")/lib.sh"

with_channel app sync
cat > "$T/time.json" <<'EOF'
{
  "rules": [
    { "name": "idle pending: close", "on": "time",
      "all": [ { "field": "status", "is": "pending" },
               { "field": "case.updated_at", "before": "24 hours ago" } ],
      "actions": [ { "status": "closed" } ] }
  ]
}
EOF
# Cases 1 to 3, then 200 open ones, all at 09:00 on the 21st.
for u in a b c; do
	printf '{"channel":"app","user_custom_id":"%s","content":"hi","id":"m-%s"}\n' $u $u
done > $T/in
awk 'BEGIN { for (i = 1; i <= 200; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"o%d\",\"id\":\"o%d\",\"content\":\"m\"}\n", i, i }' >> $T/in
run desk-case $T/in
rc 0 "203 cases, open"
DESK_NOW=2026-11-21T09:00:00Z desk-case set 1 --status pending > /dev/null
DESK_NOW=2026-11-21T09:30:00Z desk-case set 2 --status pending > /dev/null
DESK_NOW=2026-11-21T10:00:00Z desk-case set 1 --status open > /dev/null
DESK_NOW=2026-11-21T11:00:00Z desk-case set 1 --status pending > /dev/null
# The clock behind: case 3 pending "a day before" the others.
DESK_NOW=2026-11-20T09:00:00Z desk-case set 3 --status pending > /dev/null
run desk-case fsck
rc 0 "fsck: the lists are what the log derives"

# An open case's slot damaged: only a scan of every case reads it.
cp $DESK_STORE/index/cases.slots $T/cases.slots
python3 -c "
f = open('$DESK_STORE/index/cases.slots', 'r+b'); f.seek(150 * 64 + 20); f.write(b'XXXX')"
run desk-case list --status open
rc 74 "(case 150's slot is damaged)"

DESK_NOW=2026-11-22T10:00:00Z run desk-route tick -r "$T/time.json"
rc 0 "tick a day later: exit 0, without reading the open cases' slots"
json "$OUT" '[.case_id]' '[3]
[2]' "cases 3 and 2 closed, oldest in pending first; case 1 pending since 11:00 is not due"
python3 -c "
f = open('$DESK_STORE/index/cases.slots', 'r+b'); f.seek(150 * 64)
f.write(open('$T/cases.slots', 'rb').read()[150 * 64:151 * 64])"
run desk-case list --status pending
json "$OUT" '.case_id' '1' "case 1 stays pending"

DESK_NOW=2026-11-22T11:30:00Z run desk-route tick -r "$T/time.json"
json "$OUT" '.case_id' '1' "a day after it went pending the second time, case 1 is due"
run desk-case list --status pending
rc 1 "nothing is pending"
DESK_NOW=2026-11-23T11:30:00Z run desk-route tick -r "$T/time.json"
is "$(cat $OUT)" "" "and nothing is due"
run desk-case fsck
rc 0 "fsck: clean after tick moved the cases"

done_testing
