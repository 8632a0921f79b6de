#!/bin/sh
# The seed's identification scenario (003, §3, branches a-g) as shipped in
# examples/identification.rules.json: each branch's whole conversation,
# one message at a time as a chat goes, through
#   desk-case | desk-identify | desk-route | desk-reply
# checking every reply (a rule's, sent_via_rule = 1), and the case's status,
# team and assignee and the user's tariff in the store.
. "$(dirname "$0")/lib.sh"

R=$TOP/examples/identification.rules.json
with_channel app sync

# chat USER TEXT ID: one message through the whole pipeline; every stage's
# exit status is kept in a file (never read from a pipeline's subshell).
chat() {
	printf '{"channel":"app","user_custom_id":"%s","content":"%s","id":"%s"}\n' \
		"$1" "$2" "$3" > "$T/in"
	{ desk-case < "$T/in"; echo $? > "$T/rc1"; } |
	{ desk-identify; echo $? > "$T/rc2"; } |
	{ desk-route -r "$R"; echo $? > "$T/rc3"; } |
	{ desk-reply; echo $? > "$T/rc4"; } > "$OUT" 2> "$ERR"
	is "$(cat "$T/rc1" "$T/rc2" "$T/rc3" "$T/rc4" | tr '\n' ' ')" "0 0 0 0 " \
		"$3: every stage exits 0"
}
# reply RULE WORDS DESC: the message's one reply is RULE's, sent via a rule,
# and says WORDS.
reply() {
	is "$(jq -r 'select(.type == "message.out") | [.rule, .sent_via_rule, .via] | @tsv' "$OUT")" \
		"$(printf '%s\t1\trule' "$1")" "$3: one reply, rule \"$1\", sent_via_rule 1"
	like "$OUT" "\"type\":\"message.out\".*$2" "$3: the reply says \"$2\""
}
noreply() {
	is "$(jq -c 'select(.type == "message.out")' "$OUT")" "" "$1: no reply"
}
# kase CASE STATUS TEAM ASSIGNEE DESC: the case in the store.
kase() {
	run desk-case show "$1"
	json "$OUT" '[.status, .team, .assignee]' "$2" "$3"
}
tariff() { # tariff USER WANT DESC
	run desk-identify user show "$1"
	json "$OUT" '.fields.tariff' "$2" "$3"
}
code() { # code TARIFF NAME [DESK_NOW]: a fresh code for an account
	DESK_NOW=${3:-$DESK_NOW} desk-identify code --email "$2@example.org" \
		--name "$2" --field tariff="$1" | jq -r .code
}
ucase() { # ucase USER_CUSTOM_ID: that user's latest case
	desk-case list --user-custom-id "$1" --channel app --limit 1 | jq -r .case_id
}

run desk-route check -r "$R"
rc 0 "the shipped scenario passes desk-route check"

# --- a) a new chat from an unidentified user with no tariff ---
chat ua "Hello, I have a question" a1
reply "a. new chat: ask for the code" "send the code from the Identification page" "a"
ca=$(ucase ua)
kase "$ca" '["pending",null,null]' "a: the case waits, pending, for no agent"
tariff 1 null "a: the user has no tariff"

# --- c) an answer that is not a code: asked again, still pending ---
chat ua "what code?" c1
reply "c. updated: no code sent" "could not find a code" "c"
kase "$ca" '["pending",null,null]' "c: still pending, no agent"

# --- d) a wrong code, then an expired one (older than 5 minutes) ---
chat ua "my code is d_AAAAAA_aa" d1
reply "d. updated: invalid code" "not valid" "d, a wrong code"
kase "$ca" '["pending",null,null]' "d: still pending"
old=$(code Standard olga 2026-11-21T08:54:00Z)
chat ua "$old" d2
reply "d. updated: invalid code" "generate a new one" "d, a code issued 6 minutes ago"
kase "$ca" '["pending",null,null]' "d: still pending after the expired code"

# --- e) a valid code, Standard tariff: identified, open, the standard team ---
chat ua "$(code Standard ann)" e1
reply "e. updated: valid code, Standard tariff" "Thank you, ann: you are identified" "e, Standard"
kase "$ca" '["open","standard","anna"]' "e: open, for the standard team's first agent"
tariff 1 '"Standard"' "e: the account's tariff is the user's now"
chat ua "thanks, my question is..." e2
noreply "e, identified: a later message"
kase "$ca" '["open","standard","anna"]' "e: a later message changes nothing"

# e) with VIP
chat uv "hi" e3
reply "a. new chat: ask for the code" "Identification page" "a, for the VIP user"
chat uv "$(code VIP victor)" e4
reply "e. updated: valid code, VIP tariff" "personal manager" "e, VIP"
kase "$(ucase uv)" '["open","vip","vera"]' "e: open, for the VIP team"

# --- b) new chats of users whose tariff is known: the matching team ---
desk-case set "$ca" --status closed > /dev/null
chat ua "a new question" b1
noreply "b, Standard"
cb=$(ucase ua)
isnt "$cb" "$ca" "b: the closed case's user gets a new case"
kase "$cb" '["open","standard","boris"]' "b: a Standard user's new chat goes to the standard team, round-robin: the next agent"
desk-case set "$(ucase uv)" --status closed > /dev/null
chat uv "again" b2
noreply "b, VIP"
kase "$(ucase uv)" '["open","vip","vera"]' "b: a VIP user's new chat goes to the VIP team"

# --- f) the user has no account ---
chat uf "hi" f1
reply "a. new chat: ask for the code" "No account yet" "a, for the user with no account"
cf=$(ucase uf)
chat uf "No" f2
reply "f. updated: the user has no account" "colleague from sales" "f"
kase "$cf" '["open","sales","sam"]' "f: open, for sales"
uf=$(desk-case show "$cf" | jq -r .user_id)
tariff "$uf" '"No account"' "f: the user's tariff is No account"
chat uf "how much is it?" f3
noreply "f: a later question goes to the agent"

# b) no account, a new chat
desk-case set "$cf" --status closed > /dev/null
chat uf "me again" b3
noreply "b, no account"
kase "$(ucase uf)" '["open","sales","sam"]' "b: a new chat of a user with no account goes to sales"

# --- g) no account, now has one: "start" or "5" restarts identification ---
chat uf " Start " g1
reply "g. updated: no account yet, now wants to identify" "Let's identify you" "g, start"
kase "$(ucase uf)" '["pending","sales","sam"]' "g: pending again while the user identifies"
tariff "$uf" null "g: the tariff is cleared"
chat uf "$(code Standard fay)" g2
reply "e. updated: valid code, Standard tariff" "Thank you, fay" "g, then e: a valid code"
kase "$(ucase uf)" '["open","standard","anna"]' "g, then e: open, the standard team's next agent"

# --- every rule reply is in the store as sent via a rule ---
run desk-case show "$ca"
json "$OUT" '[.messages[] | select(.staff_id == 0 and .user_id == 0) | .sent_via_rule] | unique' '[1]' \
	"the rule replies are stored with sent_via_rule 1"
is "$(jq '[.messages[] | select(.user_id == 0)] | length' "$OUT")" 5 \
	"case a-e got exactly five replies (a, c, d, d, e)"

# --- replay: the whole of case a again changes nothing, sends nothing new ---
desk-case show "$ca" | jq -c '.messages[] | select(.user_id != 0) |
	{channel: "app", user_custom_id: "ua", content, id: .event_id}' > "$T/replay"
before=$(desk-reply outbox | wc -l)
{ desk-case < "$T/replay"; echo $? > "$T/rc1"; } | { desk-identify; echo $? > "$T/rc2"; } |
	{ desk-route -r "$R"; echo $? > "$T/rc3"; } | { desk-reply; echo $? > "$T/rc4"; } > "$OUT" 2> "$ERR"
is "$(cat "$T/rc1" "$T/rc2" "$T/rc3" "$T/rc4" | tr '\n' ' ')" "0 0 0 0 " "replay: every stage exits 0"
is "$(desk-reply outbox | wc -l)" "$before" "replay: nothing new queued"
json "$OUT" 'select(.type == "message.out") | .duplicate' 'true
true
true
true
true' "replay: the five replies come back as duplicates"
kase "$ca" '["closed","standard","anna"]' "replay: the closed case stays as it was"

done_testing
