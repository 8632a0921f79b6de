#!/bin/sh
# desk-route answers a channel is, is_not, any_of or none_of from the case
# slot's chan (desk_hash32 of the case record's channel) when the hash
# says none of the strings can be it, and reads the record when a hash is
# the same: the answer must be the record's, for a case on another channel,
# a merged case (the survivor's channel), and two names of the same hash
# (cypljvvkxs and ctmaucqahg: FNV-1a 32, 0x0030d277).
. "$(dirname "$0")/lib.sh"

with_channel app
with_channel bot
with_channel cypljvvkxs
printf '%s\n' \
	'{"channel":"app","user_custom_id":"u1","email":"a@example.org","content":"a","id":"e1"}' \
	'{"channel":"bot","user_custom_id":"u2","email":"a@example.org","content":"b","id":"e2"}' \
	'{"channel":"cypljvvkxs","user_custom_id":"u3","content":"c","id":"e3"}' |
	desk-case | desk-identify > "$T/in"
is "$(jq -r .case_id "$T/in" | tr '\n' ' ')" "1 2 3 " "three cases"

cat > "$T/ch.json" <<'EOF2'
{"rules": [
 {"name": "is-app", "on": ["new","updated"], "all": [{"field": "channel", "is": "app"}], "actions": [{"label": "x"}]},
 {"name": "not-app", "on": ["new","updated"], "all": [{"field": "channel", "is_not": "app"}], "actions": [{"label": "x"}]},
 {"name": "any-bot-app", "on": ["new","updated"], "all": [{"field": "channel", "any_of": ["bot", "app"]}], "actions": [{"label": "x"}]},
 {"name": "none-app", "on": ["new","updated"], "all": [{"field": "channel", "none_of": ["app"]}], "actions": [{"label": "x"}]},
 {"name": "is-twin", "on": ["new","updated"], "all": [{"field": "channel", "is": "ctmaucqahg"}], "actions": [{"label": "x"}]},
 {"name": "not-twin", "on": ["new","updated"], "all": [{"field": "channel", "is_not": "ctmaucqahg"}], "actions": [{"label": "x"}]},
 {"name": "is-own", "on": ["new","updated"], "all": [{"field": "channel", "is": "cypljvvkxs"}], "actions": [{"label": "x"}]},
 {"name": "is-num", "on": ["new","updated"], "all": [{"field": "channel", "any_of": ["app", 7]}], "actions": [{"label": "x"}]}
]}
EOF2
routes() { # routes FILE: each message's rules, one line
	desk-route -r "$T/ch.json" --dry-run "$1" | jq -c '[.route[].rule]' | tr '\n' ' '
}
is "$(routes "$T/in")" \
	'["is-app","any-bot-app","not-twin","is-num"] ["not-app","any-bot-app","none-app","not-twin"] ["not-app","none-app","not-twin","is-own"] ' \
	"is, is_not, any_of, none_of on app, bot and a name whose twin has its hash"
run desk-route -r "$T/ch.json" --explain "$T/in"
json "$OUT" 'select(.case_id == 3) | [.explain[4,5,6].all[0].result]' '[false,true,true]' \
	"--explain: the same hash, another name: the record says"
json "$OUT" 'select(.case_id == 2) | [.explain[0,1].all[0].result]' '[false,true]' \
	"--explain: another hash: the slot says"

# Merged: a message of case 2 (bot) is routed on case 1, app's.
run desk-case merge 2 1
rc 0 "merge 2 into 1"
sed -n 2p "$T/in" > "$T/merged"
is "$(routes "$T/merged")" '["is-app","any-bot-app","not-twin","is-num"] ' \
	"a merged case's message: the survivor's channel"
done_testing
