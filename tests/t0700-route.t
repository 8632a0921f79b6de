#!/bin/sh
# desk-route: every condition, every action, what passes through, no-op
# actions, replay, --dry-run, --explain, list, and check on a corpus of bad
# rule files (tests/rules-bad/NAME.json, the expected message in NAME.err).
. "$(dirname "$0")/lib.sh"

with_channel app sync
desk-webhook channel add c2d --connector chat2desk > /dev/null

# --- check: every bad file, its exact message, exit 78 ---
n=0
for f in "$TOP"/tests/rules-bad/*.json; do
	b=$(basename "$f" .json)
	(cd "$TOP/tests/rules-bad" && desk-route check -r "$b.json" > "$OUT" 2> "$ERR"; echo $? > "$T/rc")
	is "$(cat "$T/rc")" 78 "check $b: exit 78"
	is "$(cat "$ERR")" "$(cat "$TOP/tests/rules-bad/$b.err")" "check $b: names the rule and the field"
	n=$((n + 1))
done
test "$n" -ge 30; ok $? "the corpus has $n bad files"
run desk-route check
rc 78 "check without a rules file in the store: 78"
like "$ERR" 'rules.json: No such file' "... and says where it looked"
run desk-route check -r "$TOP/examples/identification.rules.json"
rc 0 "check of a good file: 0"
like "$OUT" '10 rules, no problems' "... and says so"
printf '{"rules": []' > "$T/bad.json"
runin '{"content":"x"}' desk-route -r "$T/bad.json"
rc 78 "the filter refuses a bad rules file: 78"

# --- every condition: rules that each add a label, run --dry-run ---
cat > "$T/conds.json" <<'EOF'
{
  "hours": {
    "weekdays": { "tz": "UTC", "days": ["mon","tue","wed","thu","fri"], "from": "08:00", "to": "18:00" },
    "berlin": { "tz": "Europe/Berlin", "days": ["mon","tue","wed","thu","fri"], "from": "09:00", "to": "18:00" },
    "holiday": { "tz": "Europe/Berlin", "days": ["mon"], "from": "00:00", "to": "24:00", "holidays": ["2026-11-23"] },
    "night": { "tz": "UTC", "days": ["sat"], "from": "22:00", "to": "10:00" }
  },
  "rules": [
    { "name": "ident-no", "on": ["new","updated"], "all": [{ "field": "user.identified", "is": false }], "actions": [{ "label": "x" }] },
    { "name": "ident-yes", "on": ["new","updated"], "all": [{ "field": "user.identified", "is": true }], "actions": [{ "label": "x" }] },
    { "name": "created-after", "on": "new", "all": [{ "field": "user.created_at", "after": "2026-11-01" }], "actions": [{ "label": "x" }] },
    { "name": "created-before", "on": "new", "all": [{ "field": "user.created_at", "before": "2026-11-01T00:00:00Z" }], "actions": [{ "label": "x" }] },
    { "name": "created-7d-ago", "on": "new", "all": [{ "field": "user.created_at", "before": "7 days ago" }], "actions": [{ "label": "x" }] },
    { "name": "created-recent", "on": "new", "all": [{ "field": "user.created_at", "after": "1 hour ago" }], "actions": [{ "label": "x" }] },
    { "name": "code-not-sent", "on": "new", "all": [{ "field": "code", "is": "not_sent" }], "actions": [{ "label": "x" }] },
    { "name": "code-valid", "on": "new", "all": [{ "field": "code", "is": "valid" }], "actions": [{ "label": "x" }] },
    { "name": "channel-is", "on": "new", "all": [{ "field": "channel", "is": "app" }], "actions": [{ "label": "x" }] },
    { "name": "channel-not", "on": "new", "all": [{ "field": "channel", "is_not": "app" }], "actions": [{ "label": "x" }] },
    { "name": "channel-any", "on": "new", "all": [{ "field": "channel", "any_of": ["web", "app"] }], "actions": [{ "label": "x" }] },
    { "name": "connector-custom", "on": "new", "all": [{ "field": "connector", "is": "custom" }], "actions": [{ "label": "x" }] },
    { "name": "connector-c2d", "on": "new", "all": [{ "field": "connector", "is": "chat2desk" }], "actions": [{ "label": "x" }] },
    { "name": "status-open", "on": "new", "all": [{ "field": "status", "is": "open" }], "actions": [{ "label": "x" }] },
    { "name": "status-pending", "on": "new", "all": [{ "field": "status", "is": "pending" }], "actions": [{ "label": "x" }] },
    { "name": "nobody", "on": "new", "all": [{ "field": "assignee", "empty": true }, { "field": "team", "empty": true }], "actions": [{ "label": "x" }] },
    { "name": "anna", "on": "new", "all": [{ "field": "assignee", "is": "anna" }], "actions": [{ "label": "x" }] },
    { "name": "label-vip", "on": "new", "all": [{ "field": "label", "has": "vip" }], "actions": [{ "label": "x" }] },
    { "name": "no-labels", "on": "new", "all": [{ "field": "label", "empty": true }, { "field": "label", "has_not": "vip" }], "actions": [{ "label": "x" }] },
    { "name": "tariff-is", "on": "new", "all": [{ "field": "user.fields.tariff", "is": "VIP" }], "actions": [{ "label": "x" }] },
    { "name": "tariff-is-not", "on": "new", "all": [{ "field": "user.fields.tariff", "is_not": "VIP" }], "actions": [{ "label": "x" }] },
    { "name": "tariff-any", "on": "new", "all": [{ "field": "user.fields.tariff", "any_of": ["Standard", "VIP"] }], "actions": [{ "label": "x" }] },
    { "name": "tariff-none", "on": "new", "all": [{ "field": "user.fields.tariff", "none_of": ["VIP"] }], "actions": [{ "label": "x" }] },
    { "name": "tariff-empty", "on": "new", "all": [{ "field": "user.fields.tariff", "empty": true }], "actions": [{ "label": "x" }] },
    { "name": "tariff-set", "on": "new", "all": [{ "field": "user.fields.tariff", "empty": false }], "actions": [{ "label": "x" }] },
    { "name": "tariff-changed", "on": "new", "all": [{ "field": "user.fields.tariff", "changed": true }], "actions": [{ "label": "x" }] },
    { "name": "plan-changed", "on": "new", "all": [{ "field": "user.fields.plan", "changed": true }], "actions": [{ "label": "x" }] },
    { "name": "tariff-icase", "on": "new", "all": [{ "field": "user.fields.tariff", "is": "vip", "ignore_case": true }], "actions": [{ "label": "x" }] },
    { "name": "tariff-case", "on": "new", "all": [{ "field": "user.fields.tariff", "is": "vip" }], "actions": [{ "label": "x" }] },
    { "name": "name-is", "on": "new", "all": [{ "field": "user.name", "starts_with": "Iv" }], "actions": [{ "label": "x" }] },
    { "name": "case-field-empty", "on": "new", "all": [{ "field": "case.fields.priority", "empty": true }], "actions": [{ "label": "x" }] },
    { "name": "text-contains-i", "on": "new", "all": [{ "field": "text", "contains": "REFUND", "ignore_case": true }], "actions": [{ "label": "x" }] },
    { "name": "text-contains", "on": "new", "all": [{ "field": "text", "contains": "REFUND" }], "actions": [{ "label": "x" }] },
    { "name": "text-starts", "on": "new", "all": [{ "field": "text", "starts_with": "Refund" }], "actions": [{ "label": "x" }] },
    { "name": "text-ends", "on": "new", "all": [{ "field": "text", "ends_with": "please" }], "actions": [{ "label": "x" }] },
    { "name": "text-is", "on": "new", "all": [{ "field": "text", "is": "refund please", "ignore_case": true }], "actions": [{ "label": "x" }] },
    { "name": "text-any", "on": "new", "all": [{ "field": "text", "any_of": ["stop", "Refund please"] }], "actions": [{ "label": "x" }] },
    { "name": "text-regex", "on": "new", "all": [{ "field": "text", "matches": "^ *refund +please *$", "ignore_case": true }], "actions": [{ "label": "x" }] },
    { "name": "text-regex-no", "on": "new", "all": [{ "field": "text", "matches": "^please" }], "actions": [{ "label": "x" }] },
    { "name": "trigger-new", "on": ["new","updated"], "all": [{ "field": "trigger", "is": "new" }], "actions": [{ "label": "x" }] },
    { "name": "updated-only", "on": "updated", "actions": [{ "label": "x" }] },
    { "name": "weekdays", "on": "new", "all": [{ "field": "time", "within": "weekdays" }], "actions": [{ "label": "x" }] },
    { "name": "weekend", "on": "new", "all": [{ "field": "time", "outside": "weekdays" }], "actions": [{ "label": "x" }] },
    { "name": "berlin", "on": "new", "all": [{ "field": "time", "within": "berlin" }], "actions": [{ "label": "x" }] },
    { "name": "holiday", "on": "new", "all": [{ "field": "time", "within": "holiday" }], "actions": [{ "label": "x" }] },
    { "name": "night", "on": "new", "all": [{ "field": "time", "within": "night" }], "actions": [{ "label": "x" }] },
    { "name": "any-block", "on": "new", "any": [{ "field": "channel", "is": "web" }, { "field": "text", "contains": "please" }], "actions": [{ "label": "x" }] },
    { "name": "any-none", "on": "new", "any": [{ "field": "channel", "is": "web" }, { "field": "text", "contains": "nope" }], "actions": [{ "label": "x" }] },
    { "name": "jq", "on": "new", "all": [{ "jq": ".event.content | test(\"refund\"; \"i\")" }, { "jq": ".case.status == \"open\" and .user.fields.tariff == \"VIP\"" }], "actions": [{ "label": "x" }] },
    { "name": "jq-env", "on": "new", "all": [{ "jq": "($ENV | length) == 0 and (env | length) == 0" }], "actions": [{ "label": "x" }] },
    { "name": "jq-false", "on": "new", "all": [{ "jq": ".event.nothing" }], "actions": [{ "label": "x" }] },
    { "name": "jq-error", "on": "new", "all": [{ "jq": ".event.content | tonumber" }], "actions": [{ "label": "x" }] },
    { "name": "email-is", "on": "new", "all": [{ "field": "user.email", "is": "ivan@example.org" }, { "field": "user.company", "empty": true }], "actions": [{ "label": "x" }] },
    { "name": "case-created", "on": "new", "all": [{ "field": "case.created_at", "after": "1 hour ago" }, { "field": "case.updated_at", "before": "2026-11-22" }], "actions": [{ "label": "x" }] },
    { "name": "phone-set", "on": "new", "all": [{ "field": "user.phone", "empty": false }], "actions": [{ "label": "x" }] }
  ]
}
EOF
run desk-route check -r "$T/conds.json"
rc 0 "the conditions' rules pass check"
printf '{"channel":"app","user_custom_id":"u1","name":"Ivan","email":"Ivan@Example.org","content":"  Refund please ","fields":{"tariff":"VIP"},"id":"e1"}\n' |
	desk-case | desk-identify > "$T/e1"
matched() { # matched DESK_NOW EVENTFILE: the rules that match, in order
	DESK_NOW=$1 desk-route -r "$T/conds.json" --dry-run < "$2" > "$T/m" 2> "$T/m.err"
	jq -r '[.route[].rule] | join(" ")' "$T/m"
}
is "$(matched 2026-11-21T09:00:00Z "$T/e1")" "ident-no created-after created-recent code-not-sent channel-is channel-any connector-custom status-open nobody no-labels tariff-is tariff-any tariff-set tariff-changed tariff-icase name-is case-field-empty text-contains-i text-starts text-ends text-is text-any text-regex trigger-new weekend night any-block jq jq-env email-is case-created" \
	"Saturday 09:00 UTC, a new case: exactly the conditions that hold"
is "$(cat "$T/m.err")" "" "... and nothing on stderr"
# The same user a week later, on Monday in Berlin's office hours, on chat2desk.
printf '{"channel":"c2d","user_custom_id":"u1","content":"ok","id":"e2"}\n' | desk-case | desk-identify > "$T/e2"
m=$(matched 2026-11-30T09:00:00Z "$T/e2")
for want in created-7d-ago connector-c2d channel-not weekdays berlin tariff-none tariff-empty; do
	case " $m " in *" $want "*) pass "another user, a week on: $want holds" ;;
	*) fail "another user, a week on: $want holds" "matched: $m" ;; esac
done
m=$(matched 2026-11-23T09:00:00Z "$T/e2")
case " $m " in *" holiday "*) fail "a holiday is outside business hours" "matched: $m" ;;
*) pass "a holiday is outside business hours" ;; esac
case " $m " in *" berlin "*) pass "09:00 UTC is 10:00 in Berlin: within its hours" ;;
*) fail "09:00 UTC is 10:00 in Berlin: within its hours" "matched: $m" ;; esac
m=$(matched 2026-11-23T17:30:00Z "$T/e2")
case " $m " in *" berlin "*) fail "17:30 UTC is 18:30 in Berlin: outside" "matched: $m" ;;
*) pass "17:30 UTC is 18:30 in Berlin: outside" ;; esac
printf '{"channel":"app","user_custom_id":"u1","content":"more","id":"e3"}\n' | desk-case | desk-identify > "$T/e3"
is "$(matched 2026-11-21T09:00:00Z "$T/e3")" "ident-no updated-only" \
	"an updated case: only the rules for updated cases"

# A jq condition has a time limit per evaluation: a program that never ends
# is halted and is false, and the next one runs as usual.
printf '%s\n' '{"rules":[{"name":"slow","on":["new","updated"],"all":[{"jq":"last(range(1e12)) > 0"}],"actions":[{"label":"x"}]},{"name":"fast","on":["new","updated"],"all":[{"jq":".event.content == \"ok\""}],"actions":[{"label":"y"}]}]}' > "$T/slow.json"
start=$(date +%s)
run desk-route -r "$T/slow.json" --dry-run "$T/e2" "$T/e2" "$T/e2"
rc 0 "a jq condition that never ends: exit 0"
json "$OUT" '[.route[].rule]' '["fast"]
["fast"]
["fast"]' "... it is halted and false, each time; the next condition runs"
test $(($(date +%s) - start)) -lt 10; ok $? "... within its time limit, not the test's"

# --explain: every rule, every condition's result; nothing changes
log_size() { cat "$DESK_STORE"/log/*.jsonl | wc -c; }
size=$(log_size)
DESK_NOW=2026-11-21T09:00:00Z run desk-route -r "$T/conds.json" --explain "$T/e1"
rc 0 "--explain: exit 0"
json "$OUT" '.explain | length' 55 "--explain lists every rule"
json "$OUT" '.explain[] | select(.rule == "tariff-case") | .all' \
	'[{"if":"user.fields.tariff is \"vip\"","result":false}]' "--explain gives each condition's result"
json "$OUT" '.explain[] | select(.rule == "updated-only") | .skipped' '"not a rule for new cases"' \
	"--explain says why a rule was not evaluated"
is "$(log_size)" "$size" "--explain writes nothing to the store"

# --- actions ---
cat > "$T/acts.json" <<'EOF'
{
  "teams": { "support": ["anna", "boris"] },
  "rules": [
    { "name": "greet", "on": "new",
      "actions": [
        { "reply": "Hi {{user.name}} ({{user.fields.tariff}}), case {{case.id}} on {{channel}}" },
        { "status": "pending" }, { "team": "support" }, { "label": "new" }, { "label": "web" },
        { "set": { "user.fields.seen": true, "case.fields.priority": "high" } } ] },
    { "name": "again", "on": "new", "actions": [ { "status": "pending" }, { "team": "support" } ] },
    { "name": "follow-up", "on": "updated",
      "actions": [ { "unlabel": "new" }, { "assign": "carl" }, { "reply": "one" }, { "reply": "two" } ],
      "stop": true },
    { "name": "never", "on": "updated", "actions": [ { "status": "closed" } ] },
    { "name": "unassign", "on": "updated", "all": [ { "field": "text", "is": "unassign" } ],
      "actions": [ { "assign": null } ] }
  ]
}
EOF
printf '{"channel":"app","user_custom_id":"u9","name":"Zoe","content":"hi","fields":{"tariff":"Gold"},"id":"a1"}\n' |
	desk-case | desk-identify > "$T/a1"
run desk-route -r "$T/acts.json" "$T/a1"
rc 0 "actions: exit 0"
cid=$(jq -r 'select(.case_id) | .case_id' "$T/a1")
json "$OUT" 'select(.route) | .route' \
	"[{\"actions\":[{\"reply\":\"Hi Zoe (Gold), case $cid on app\"},{\"status\":\"pending\"},{\"assignee\":\"anna\",\"team\":\"support\"},{\"label\":\"new\"},{\"label\":\"web\"},{\"set\":{\"user.fields.seen\":true}},{\"set\":{\"case.fields.priority\":\"high\"}}],\"rule\":\"greet\"},{\"actions\":[],\"rule\":\"again\"}]" \
	"the event lists each rule and the actions taken; the second rule's were no-ops"
json "$OUT" 'select(.type == "reply") | [.case_id, .via, .rule, .source_id, .content]' \
	"[$cid,\"rule\",\"greet\",\"$(jq -r .message_id "$T/a1")\",\"Hi Zoe (Gold), case $cid on app\"]" \
	"the reply is a reply event for desk-reply, via rule, keyed by the message"
run desk-case show "$cid"
json "$OUT" '[.status, .team, .assignee, .labels, .fields]' '["pending","support","anna",["new","web"],{"priority":"high"}]' \
	"status, team (round-robin), labels and a case field are in the store"
run desk-identify user show "$(jq -r .user_id "$T/a1")"
json "$OUT" '.fields' '{"seen":true,"tariff":"Gold"}' "the user field is set"

# replay of the same event: the first answer, nothing written
size=$(log_size)
run desk-route -r "$T/acts.json" "$T/a1"
json "$OUT" 'select(.route) | .duplicate' 'true' "replay: marked duplicate"
is "$(jq -c 'select(.type == "reply") | .source_id' "$OUT")" "\"$(jq -r .message_id "$T/a1")\"" \
	"replay: the same reply event again (desk-reply drops it as a duplicate)"
is "$(log_size)" "$size" "replay: nothing written"

# no-op actions write nothing: a second message from the same user, new case
# state already as the rules want it
printf '{"channel":"app","user_custom_id":"u9","content":"and","id":"a2"}\n' | desk-case | desk-identify > "$T/a2"
run desk-route -r "$T/acts.json" "$T/a2"
json "$OUT" 'select(.route) | .route' \
	'[{"actions":[{"unlabel":"new"},{"assign":"carl"},{"reply":"one"},{"reply":"two"}],"rule":"follow-up"}]' \
	"updated: unlabel, assign, two replies; stop: the later rules do not run"
json "$OUT" 'select(.type == "reply") | .source_id' "\"$(jq -r .message_id "$T/a2")\"
\"$(jq -r .message_id "$T/a2").2\"" "two replies of one rule have two keys"
run desk-case show "$cid"
json "$OUT" '[.status, .assignee, .labels]' '["pending","carl",["web"]]' "the label is removed, the agent assigned"
printf '{"channel":"app","user_custom_id":"u9","content":"unassign","id":"a3"}\n' | desk-case | desk-identify > "$T/a3"
cat > "$T/noop.json" <<'EOF'
{ "rules": [ { "name": "same", "on": ["new","updated"],
  "actions": [ { "status": "pending" }, { "assign": "carl" }, { "label": "web" }, { "unlabel": "gone" },
    { "set": { "case.fields.priority": "high", "user.fields.tariff": "Gold", "user.fields.none": null } } ] } ] }
EOF
run desk-route -r "$T/noop.json" "$T/a3"
json "$OUT" '.route' '[{"actions":[],"rule":"same"}]' "actions that change nothing are not taken"
size=$(log_size)
run desk-route -r "$T/noop.json" "$T/a3"
is "$(log_size)" "$size" "... and a matched rule whose actions changed nothing writes only its route, once"
run desk-route -r "$T/acts.json" "$T/a3"
json "$OUT" '.route[0].rule' '"same"' "a replay is a replay whatever the rules file: the first answer"

# A rule sees what the rules before it changed in the same event.
cat > "$T/chain.json" <<'EOF2'
{ "rules": [
  { "name": "first", "on": ["new","updated"], "all": [ { "field": "status", "is_not": "closed" } ],
    "actions": [ { "status": "open" }, { "label": "one" } ] },
  { "name": "second", "on": ["new","updated"], "all": [ { "field": "status", "is": "open" }, { "field": "label", "has": "one" } ],
    "actions": [ { "status": "pending" } ] },
  { "name": "third", "on": ["new","updated"], "all": [ { "field": "status", "is": "pending" }, { "field": "status", "changed": true } ],
    "actions": [ { "label": "three" } ] } ] }
EOF2
printf '{"channel":"app","user_custom_id":"u11","content":"x","id":"ch1"}\n' | desk-case | desk-identify > "$T/ch1"
run desk-route -r "$T/chain.json" "$T/ch1"
json "$OUT" '[.route[].rule]' '["first","second","third"]' "each rule sees the case as the rules before it left it"

# --- what passes through: only messages meet the rules ---
cat > "$T/pass" <<'EOF'
{"type":"reply","case_id":1,"content":"x","via":"rule","rule":"greet","source_id":"9"}
{"type":"message.out","out_id":1,"case_id":1,"content":"x"}
{"type":"delivery","out_id":1,"ok":true}
{"type":"status","case_id":1,"status":"closed"}
{"content":"not stored by desk-case"}
EOF
run desk-route -r "$T/acts.json" "$T/pass"
rc 0 "other events: exit 0"
json "$OUT" '.' "$(jq -S -c . "$T/pass")" "replies, deliveries, status events and unstored messages pass through unchanged"

# --- --dry-run: what would be done, nothing written, no replies ---
printf '{"channel":"app","user_custom_id":"u10","content":"hi","id":"d1"}\n' | desk-case | desk-identify > "$T/d1"
size=$(log_size)
run desk-route -r "$T/acts.json" --dry-run "$T/d1"
json "$OUT" '.route[0].actions[2]' '{"assignee":"(round-robin)","team":"support"}' "--dry-run lists the actions"
is "$(jq -c 'select(.type == "reply")' "$OUT")" "" "--dry-run writes no reply"
is "$(log_size)" "$size" "--dry-run writes nothing to the store"

# --- round-robin, fair under two desk-route processes at once ---
cat > "$T/rr.json" <<'EOF'
{ "teams": { "t": ["p", "q"] }, "rules": [ { "name": "rr", "on": "new", "actions": [ { "team": "t" } ] } ] }
EOF
i=0
while [ $i -lt 80 ]; do
	printf '{"channel":"app","user_custom_id":"rr%d","content":"hi","id":"rr%d"}\n' $i $i
	i=$((i + 1))
done | desk-case > "$T/rr"
sed -n '1~2p' "$T/rr" > "$T/rr1"
sed -n '2~2p' "$T/rr" > "$T/rr2"
# One event at a time, so that the two interleave.
slow() { while read -r l; do printf '%s\n' "$l"; sleep 0.01; done < "$1"; }
slow "$T/rr1" | desk-route -r "$T/rr.json" > "$T/o1" 2> "$T/e1.err" &
p1=$!
slow "$T/rr2" | desk-route -r "$T/rr.json" > "$T/o2" 2> "$T/e2.err" &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
is "$r1 $r2" "0 0" "two desk-route processes at once: both exit 0"
cat "$T/o1" "$T/o2" | jq -r '.route[0].actions[0].assignee' | sort | uniq -c | tr -s ' ' > "$T/counts"
is "$(cat "$T/counts")" " 40 p
 40 q" "round-robin: 80 new cases, 40 to each agent"
is "$(cat "$DESK_STORE"/log/*.jsonl | jq -c 'select(.rec == "rotation" and .team == "t") | .turn' | sort -n | uniq | wc -l)" 80 \
	"every turn taken once: the rotation is under the writer lock"

# --- list ---
run desk-route list -r "$T/acts.json"
rc 0 "list: exit 0"
like "$OUT" '^1\. greet  \[new\]$' "list: each rule's number, name and trigger"
like "$OUT" '^    then  team "support"$' "list: its actions"
like "$OUT" '^    stop$' "list: stop"

# --- rules.json in the store is the default ---
cp "$T/rr.json" "$DESK_STORE/rules.json"
run desk-route check
rc 0 "check finds STORE/rules.json"
run desk-route list
like "$OUT" '^1\. rr  \[new\]$' "list reads STORE/rules.json"

done_testing
