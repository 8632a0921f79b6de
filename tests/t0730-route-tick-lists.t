#!/bin/sh
# desk-route tick over the status lists (desk-store(5)): among many cases of
# mixed statuses and times, exactly those its time rules can match, oldest
# change first per status; a case that changes status moves list; the lists
# survive kill -9 of a writer mid-batch, and fsck checks them.
. "$(dirname "$0")/lib.sh"

with_channel app sync
# Case i (1..40) opens at 2026-11-20 plus i half hours: every third stays
# open (i % 3 == 1), one in three is set pending, one closed, at the time it
# opened, so the log's order is the time order.
i=1
while [ $i -le 40 ]; do
	at=$(date -u -d "2026-11-20T00:00:00Z + $((i * 30)) minutes" +%Y-%m-%dT%H:%M:%SZ)
	printf '{"channel":"app","user_custom_id":"u%d","content":"hi","id":"m%d"}\n' $i $i |
		DESK_NOW=$at desk-case > /dev/null
	case $((i % 3)) in
	0) DESK_NOW=$at desk-case set $i --status pending > /dev/null ;;
	2) DESK_NOW=$at desk-case set $i --status closed > /dev/null ;;
	esac
	i=$((i + 1))
done
rules() { # rules OPEN-NAME OPEN-BEFORE PENDING-NAME PENDING-BEFORE
	cat > "$T/time.json" <<EOR
{ "rules": [
  { "name": "$1", "on": "time",
    "all": [ { "field": "status", "is": "open" },
             { "field": "case.updated_at", "before": "$2" } ],
    "actions": [ { "label": "late" } ] },
  { "name": "$3", "on": "time",
    "all": [ { "field": "status", "is": "pending" },
             { "field": "case.updated_at", "before": "$4" } ],
    "actions": [ { "label": "stale" } ] } ] }
EOR
}
ids() { jq -r 'select(.type == "route.tick") | .case_id' "$OUT" | tr '\n' ' '; }

# At 11-21 10:00: open before 11-20 04:00 (i < 8), pending before 11-20
# 10:00 (i < 20); the open list first, then the pending one.
rules "open 30h" "30 hours ago" "pending 24h" "24 hours ago"
DESK_NOW=2026-11-21T10:00:00Z run desk-route tick -r "$T/time.json"
rc 0 "tick over 40 cases: exit 0"
is "$(ids)" "1 4 7 3 6 9 12 15 18 " "exactly the open cases older than 30 h and the pending ones older than 24 h"
DESK_NOW=2026-11-21T10:00:00Z run desk-route tick -r "$T/time.json"
is "$(ids)" "" "again: nothing (applied once per case and state)"

# Case 1 goes from open to pending: off the open list, at the pending
# list's tail. New rule names, so every candidate fires; the lists' order
# is the order of the last change (the labelled cases changed at 10:00).
DESK_NOW=2026-11-21T11:00:00Z desk-case set 1 --status pending > /dev/null
rules "open 1h" "1 hour ago" "pending 1h" "1 hour ago"
DESK_NOW=2026-11-22T12:00:00Z run desk-route tick -r "$T/time.json" --dry-run
rc 0 "tick after a status change: exit 0"
is "$(ids)" "10 13 16 19 22 25 28 31 34 37 40 4 7 21 24 27 30 33 36 39 3 6 9 12 15 18 1 " \
	"case 1 is pending now, changed last: at the pending list's tail, not on the open list"
# A time bound between the changes: the walk stops at the first case too
# recent, and so passes over the cases changed on the 21st.
rules "open 20h" "20 hours ago" "pending 20h" "20 hours ago"
DESK_NOW=2026-11-21T20:00:00Z run desk-route tick -r "$T/time.json" --dry-run
is "$(ids)" "10 13 16 19 22 25 28 31 34 37 40 21 24 27 30 33 36 39 " \
	"before 11-21 00:00: only the cases not changed since the 20th"
run desk-case fsck
rc 0 "fsck: exit 0"
json "$OUT" '.damage' '0' "fsck checks the lists: no damage"

# kill -9 of a writer mid-batch: every message moves its case to the open
# list's tail (and its status open again); fsck (rolling forward) is clean.
awk 'BEGIN { for (i = 1; i <= 30000; i++)
	printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"id\":\"k%d\",\"content\":\"m\"}\n", i % 60, i }' > $T/in
killed 0.05 $T/out $T/in env DESK_SYNC=batch desk-case
is "$K_RC" 137 "desk-case killed mid-batch"
run desk-case fsck
rc 0 "after the kill: fsck exit 0"
json "$OUT" '.damage' '0' "after the kill: the lists are whole"
rules "open 1m" "1 minutes ago" "pending 1m" "1 minutes ago"
DESK_NOW=2026-11-23T00:00:00Z run desk-route tick -r "$T/time.json" --dry-run
rc 0 "tick after the kill: exit 0"
n=$(jq -r 'select(.type == "route.tick") | .case_id' "$OUT" | sort -n | uniq | wc -l | tr -d ' ')
want=$(desk-case list | jq -s '[.[] | select(.status == "open" or .status == "pending")] | length')
is "$n" "$want" "tick still finds every open and pending case, once each"

done_testing
