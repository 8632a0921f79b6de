#!/bin/sh
# desk-route tick: time rules over the cases under DESK_NOW, each applied at
# most once per case and state of the case; a reply, then a close.
. "$(dirname "$0")/lib.sh"

with_channel app sync
cat > "$T/time.json" <<'EOF'
{
  "teams": { "escalation": ["erin", "ed"] },
  "rules": [
    { "name": "idle pending: remind and close", "on": "time",
      "all": [ { "field": "status", "is": "pending" },
               { "field": "case.updated_at", "before": "24 hours ago" } ],
      "actions": [ { "reply": "We close this chat for now: write again any time." },
                   { "status": "closed" } ] },
    { "name": "open, waiting: escalate", "on": "time",
      "all": [ { "field": "status", "is": "open" },
               { "field": "case.updated_at", "before": "2 hours ago" } ],
      "actions": [ { "team": "escalation" }, { "label": "escalated" } ] }
  ]
}
EOF
msg() { # msg USER ID: a message at 09:00, the time lib.sh sets
	printf '{"channel":"app","user_custom_id":"%s","content":"hi","id":"%s"}\n' "$1" "$2" |
		desk-case > /dev/null
}
msg u1 m1      # case 1
msg u2 m2      # case 2
msg u3 m3      # case 3
desk-case set 1 --status pending > /dev/null
desk-case set 3 --status closed > /dev/null

DESK_NOW=2026-11-21T10:00:00Z run desk-route tick -r "$T/time.json"
rc 0 "tick after an hour: exit 0"
is "$(cat "$OUT")" "" "after an hour nothing is due"

DESK_NOW=2026-11-21T11:30:00Z run desk-route tick -r "$T/time.json"
rc 0 "tick after 2.5 hours: exit 0"
json "$OUT" '[.type, .case_id, .route]' \
	'["route.tick",2,[{"actions":[{"assignee":"erin","team":"escalation"},{"label":"escalated"}],"rule":"open, waiting: escalate"}]]' \
	"the open case waiting 2 hours goes to the escalation team; the pending one is not due yet"
run desk-case show 2
json "$OUT" '[.team, .assignee, .labels]' '["escalation","erin",["escalated"]]' "... in the store"

DESK_NOW=2026-11-21T12:00:00Z run desk-route tick -r "$T/time.json"
is "$(cat "$OUT")" "" "tick again: a rule is applied once per case and state"

DESK_NOW=2026-11-22T10:00:00Z run desk-route tick -r "$T/time.json" --dry-run
json "$OUT" 'select(.type == "route.tick") | .case_id' '1' "--dry-run: the pending case is due after 24 hours"
run desk-case show 1
json "$OUT" '.status' '"pending"' "--dry-run changes nothing"

DESK_NOW=2026-11-22T10:00:00Z run desk-route tick -r "$T/time.json"
rc 0 "tick after 25 hours: exit 0"
json "$OUT" 'select(.type == "route.tick") | [.case_id, .route[0].rule, (.route[0].actions | map(keys[0]))]' \
	'[1,"idle pending: remind and close",["reply","status"]]' \
	"the pending case: a reply, then closed"
json "$OUT" 'select(.type == "message.out") | [.case_id, .sent_via_rule, .rule]' \
	'[1,1,"idle pending: remind and close"]' "the reply is queued for delivery, sent via the rule"
run desk-case show 1
json "$OUT" '[.status, (.messages | map(select(.user_id == 0)) | length)]' '["closed",1]' \
	"the case is closed, with the reply in it"
DESK_NOW=2026-11-22T11:00:00Z run desk-route tick -r "$T/time.json"
is "$(jq -c 'select(.case_id == 1)' "$OUT")" "" "a closed case is not a candidate any more"

# The escalated case: a new message changes its state; waiting again, the
# rule is due again, and finds the team as it wants it.
printf '{"channel":"app","user_custom_id":"u2","content":"still there?","id":"m4"}\n' |
	DESK_NOW=2026-11-22T12:00:00Z desk-case > /dev/null
DESK_NOW=2026-11-22T15:00:00Z run desk-route tick -r "$T/time.json"
json "$OUT" '[.case_id, .route[0].actions]' '[2,[]]' "a new state: evaluated again; nothing left to do"
run desk-case show 2
json "$OUT" '.assignee' '"erin"' "... the agent stays"

# --explain lists every time rule for every candidate
DESK_NOW=2026-11-23T15:00:00Z run desk-route tick -r "$T/time.json" --explain
json "$OUT" '[.case_id, (.explain | length)]' '[2,2]' "--explain: the candidate case and each rule"

# The rule marks and rotations are derived state like any other: fsck
# checks them, --repair rebuilds them from the log.
run desk-case fsck
rc 0 "fsck: the store with rotations, routes and rule marks is sound"
rm "$DESK_STORE/index/keys.hx"
run desk-case fsck --repair
rc 0 "fsck --repair rebuilds the index"
DESK_NOW=2026-11-23T15:00:00Z run desk-route tick -r "$T/time.json"
is "$(cat "$OUT")" "" "after a rebuild the rule marks still hold: nothing applied twice"

# A rules file without time rules: nothing to do.
printf '{"rules":[{"name":"x","on":"new","actions":[{"stop":true}]}]}' > "$T/none.json"
run desk-route tick -r "$T/none.json"
rc 0 "no time rules: exit 0"
is "$(cat "$OUT")" "" "no time rules: no output"

done_testing
