#!/bin/sh
# desk-case as a filter: users, cases by the last-chat rule, linking,
# idempotent replay, status events, pass-through.
. "$(dirname "$0")/lib.sh"

with_channel app sync
with_channel mail async

msg() { # msg UCID CONTENT [EXTRA-JSON]
	printf '{"channel":"app","user_custom_id":"%s","content":"%s"%s}\n' "$1" "$2" "${3:+,$3}"
}

# --- a first message creates the user and a case ---
msg u1 hello '"id":"m1"' > $T/in
run desk-case < $T/in
rc 0 "first message: exit 0"
json $OUT . '{"case_id":1,"case_status":"open","channel":"app","content":"hello","id":"m1","message_id":1,"trigger":"new","user_custom_id":"u1","user_id":1}' \
	"first message: new user, new case, enriched"
is "$(wc -c < $ERR | tr -d ' ')" 0 "first message: nothing on stderr"

# --- the next one goes to the same open case ---
runin "$(msg u1 "second" '"id":"m2"')" desk-case
json $OUT '[.user_id,.case_id,.message_id,.trigger,.case_status]' '[1,1,2,"updated","open"]' \
	"open case: same case, trigger updated"

# --- pending: still the same case ---
run desk-case set 1 --status pending
rc 0 "set pending"
runin "$(msg u1 "third")" desk-case
json $OUT '[.case_id,.trigger,.case_status]' '[1,"updated","pending"]' \
	"pending case: same case, status unchanged by a user message"

# --- closed: a new case ---
run desk-case set 1 --status closed
runin "$(msg u1 "after close" '"id":"m4"')" desk-case
json $OUT '[.user_id,.case_id,.trigger,.case_status]' '[1,2,"new","open"]' \
	"closed case: a new case"

# --- merged: the survivor ---
runin "$(msg u9 "other")" desk-case
runin "$(msg u1 "x")" desk-case
run desk-case set 2 --status closed
runin "$(msg u1 "y")" desk-case
json $OUT '.case_id' '4' "u1 has case 4 now"
run desk-case merge 4 2
rc 0 "merge 4 into 2"
json $OUT '[.case_id,.merged_from]' '[2,[4]]' "merge prints the survivor"
run desk-case set 2 --status open
runin "$(msg u1 "into the survivor")" desk-case
json $OUT '[.case_id,.trigger]' '[2,"updated"]' "merged case: the message goes to the survivor"
run desk-case set 2 --status closed
runin "$(msg u1 "survivor closed")" desk-case
json $OUT '[.case_id,.trigger]' '[5,"new"]' "merged into a closed case: a new case"

# --- channels are separate ---
runin "$(printf '{"channel":"mail","user_custom_id":"u1","content":"by mail","subject":"Order"}')" desk-case
json $OUT '[.user_id,.case_id,.trigger]' '[3,6,"new"]' "same user_custom_id on another channel: another user"
run desk-case show 6
json $OUT '.subject' '"Order"' "subject is recorded on a new case"

# --- idempotent replay ---
runin "$(msg u1 hello '"id":"m1"')" desk-case
json $OUT '[.user_id,.case_id,.message_id,.trigger,.duplicate]' '[1,1,1,"new",true]' \
	"replay: the same ids as the first time"
n1=$(desk-case show 1 | jq '.messages | length')
is "$n1" 3 "replay: no second message in case 1"
runin "$(msg u1 "after close" '"id":"m4"')" desk-case
json $OUT '[.case_id,.message_id,.duplicate]' '[2,4,true]' "replay of an event whose case has since closed"

# --- name, company, email and phone ---
runin "$(msg u20 "hi" '"name":"Ann","company":"ACME","email":" Ann@Example.org ","phone":"+7 (900) 123-45-67"')" desk-case
json $OUT '[.user_id,.not_linked,.linked_users]' '[4,null,null]' "email and phone of a new user are linked"
q 'select(.rec=="user" and .user_id==4)' $DESK_STORE/log/00000001.jsonl > $T/u
json $T/u '[.name,.company,.emails,.phones]' '["Ann","ACME",["ann@example.org"],["79001234567"]]' \
	"user record: name, company, normalised email and phone"

# another user_custom_id of the same channel: not linked
runin "$(msg u21 "me" '"email":"ann@example.org"')" desk-case
json $OUT '.not_linked' '{"email":{"reason":"belongs to another user_custom_id of channel app","user_id":4}}' \
	"email of another user_custom_id of the same channel: not linked, and said so"
# a profile on another channel: linked
runin "$(printf '{"channel":"mail","user_custom_id":"ann-mail","content":"hi","email":"ANN@example.org"}')" desk-case
json $OUT '[.user_id,.linked_users,.not_linked]' '[6,[4],null]' "same email from another channel: profiles linked"
is "$(q 'select(.rec=="user" and .user_id==4) | .linked_users' $DESK_STORE/log/00000001.jsonl | tail -n 1)" "[6]" \
	"linking is recorded on both users"
runin "$(msg u22 "x" '"email":"not-an-email"')" desk-case
json $OUT '.not_linked.email.reason' '"not an email address"' "a malformed email is not linked, and said so"

# --- status events ---
runin "$(msg u30 "chat")" desk-case
cid=$(jq .case_id $OUT)
runin "$(printf '{"type":"status","channel":"app","user_custom_id":"u30","id":"s1"}')" desk-case
json $OUT '[.type,.case_id,.case_status]' "[\"status\",$cid,\"closed\"]" "status event closes the user's case"
run desk-case show $cid
json $OUT '.status' '"closed"' "the case is closed in the store"
runin "$(msg u30 "back")" desk-case
newcid=$(jq .case_id $OUT)
runin "$(printf '{"type":"status","channel":"app","user_custom_id":"u30","id":"s1"}')" desk-case
json $OUT '[.case_id,.duplicate]' "[$cid,true]" "replayed status event does not close the new case"
run desk-case show $newcid
json $OUT '.status' '"open"' "the new case stays open"
runin "$(printf '{"type":"status","case_id":%s,"status":"pending","id":"s2"}' $newcid)" desk-case
json $OUT '.case_status' '"pending"' "status event by case_id with an explicit status"
desk-case set $newcid --status open > /dev/null
runin "$(printf '{"type":"status","case_id":%s,"status":"pending","id":"s2"}' $newcid)" desk-case
json $OUT '[.case_status,.duplicate]' '["pending",true]' "a replayed status event by case_id is recognised"
run desk-case show $newcid
json $OUT '.status' '"open"' "and changes nothing"
runin "$(printf '{"type":"status","channel":"app","user_custom_id":"nobody"}')" desk-case
rc 65 "status event for an unknown user: 65"
like $ERR '"reason":"no case for this user_custom_id on channel app"' "and says why"

# --- pass-through, order, and events already stored ---
cat > $T/in <<'IN'
{"type":"reply","case_id":1,"content":"x"}
{"channel":"app","user_custom_id":"u40","content":"a"}
{"type":"delivery","ok":true}
{"channel":"app","user_custom_id":"u40","content":"b","message_id":99}
IN
run desk-case < $T/in
rc 0 "mixed stream: exit 0"
is "$(q '[.type // "message", .message_id]' $OUT | tr -d '\n')" '["reply",null]["message",17]["delivery",null]["message",99]' \
	"other events pass through untouched, in order; stored events are not stored twice"

# --- the filter reads files and - ---
msg u50 one > $T/a; msg u50 two > $T/b
run desk-case $T/a - $T/b < /dev/null
is "$(jq -r .content $OUT | tr '\n' ' ')" "one two " "FILE arguments are read in order"

done_testing
