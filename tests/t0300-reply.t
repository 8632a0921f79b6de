#!/bin/sh
# desk-reply: agent, API and rule replies, the outbox, case state, replay,
# loop protection, and messages on behalf of a user.
. "$(dirname "$0")/lib.sh"

desk-webhook channel add app --type sync --url https://example.org/hook > /dev/null
desk-webhook channel add quiet --inactive > /dev/null
inmsg() { printf '{"channel":"%s","user_custom_id":"%s","content":"%s"%s}\n' "$1" "$2" "$3" "${4:+,$4}" | desk-case > /dev/null; }
inmsg app u1 "help" '"external":{"dialog_id":"d-77","client_id":"c-5"}'   # case 1, user 1
inmsg app u2 "hello"                                                        # case 2, user 2

# --- the filter ---
cat > $T/in <<'IN'
{"type":"reply","case_id":1,"content":"On it.","staff_id":7,"via":"agent","id":"r1"}
{"type":"status","note":"passes"}
{"type":"reply","case_id":1,"content":"From our CRM","via":"api","id":"r2"}
{"type":"reply","case_id":1,"content":"Please send your code","via":"rule","rule":"ask-code","source_id":"m1"}
IN
run desk-reply $T/in
rc 0 "replies: exit 0"
json $OUT '[.type,.case_id,.message_id,.out_id,.sent_via_rule,.b_from_api,.staff_id,.via]' \
	'["message.out",1,3,1,0,0,7,"agent"]
["status",null,null,null,null,null,null,null]
["message.out",1,4,2,0,1,0,"api"]
["message.out",1,5,3,1,0,0,"rule"]' \
	"each reply becomes a message.out, in order, other events pass through"
json $T/in '.' "$(jq -S -c . $T/in)" "(input unchanged)"
sed -n 1p $OUT > $T/first
json $T/first '[.user_id,.user_custom_id,.channel,.connector,.external,.content,.attachments,.created_at]' \
	'[1,"u1","app","custom",{"client_id":"c-5","dialog_id":"d-77"},"On it.",[],"2026-11-21T09:00:00Z"]' \
	"message.out carries the recipient, the channel, its connector and the conversation's external ids"
sed -n 4p $OUT > $T/rule
json $T/rule '.rule' '"ask-code"' "a rule reply names its rule"
run desk-case show 1
json $OUT '[.assignee, (.messages[1:] | map([.user_id,.staff_id,.sent_via_rule,.b_from_api,.content]))]' \
	'["7",[[0,7,0,0,"On it."],[0,0,0,1,"From our CRM"],[0,0,1,0,"Please send your code"]]]' \
	"replies are staff messages of the case; the first agent reply assigned its agent"
run desk-reply outbox
json $OUT '[.out_id,.message_id,.state]' '[1,3,"pending"]
[2,4,"pending"]
[3,5,"pending"]' "all three are queued in the outbox"

# --- replay ---
run desk-reply $T/in
json $OUT 'select(.type=="message.out") | [.out_id,.message_id,.duplicate]' '[1,3,true]
[2,4,true]
[3,5,true]' "replayed: the same message.out, marked duplicate"
run desk-case show 1
is "$(jq '.messages | length' $OUT)" 4 "replayed: nothing added to the case"
run desk-reply outbox
is "$(lines $OUT)" 3 "replayed: nothing added to the outbox"
printf '{"type":"reply","case_id":1,"content":"Other rule","via":"rule","rule":"other","source_id":"m1"}\n' > $T/in2
run desk-reply $T/in2
json $OUT '.duplicate' 'null' "the same source event with another rule is another reply"

# --- the first agent reply assigns; later ones do not reassign ---
run desk-reply --case 2 --staff 42 "first agent"
rc 0 "desk-reply --case with --staff: exit 0"
json $OUT '[.channel,.staff_id,.case_id]' '["app",42,2]' "the reply that assigns still goes to the right channel"
run desk-case show 2
json $OUT '.assignee' '"42"' "assigned to agent 42"
run desk-reply --case 2 --staff 43 "second agent"
run desk-case show 2
json $OUT '.assignee' '"42"' "a later agent reply does not reassign"
inmsg app u3 "x"                                                            # case 3
run desk-reply --case 3 --api --staff 9 "api reply"
run desk-case show 3
json $OUT '.assignee' 'null' "an API reply does not assign"

# --- the command ---
run desk-reply 3 "short form"
rc 0 "desk-reply CASE TEXT: exit 0"
json $OUT '[.case_id,.content,.via,.b_from_api]' '[3,"short form","agent",0]' "desk-reply CASE TEXT"
printf 'from stdin\n\n' > $T/text
run desk-reply --case 3 --api --attach https://example.org/f/invoice.pdf < $T/text
json $OUT '[.content,.b_from_api,.attachments]' '["from stdin",1,[{"file_name":"invoice.pdf","url":"https://example.org/f/invoice.pdf"}]]' \
	"text from stdin (trailing newlines dropped), --api, --attach"
: > $T/empty
run desk-reply --case 3 < $T/empty
rc 64 "nothing to send: exit 64"
run desk-reply 99 "to nowhere"
rc 1 "a case that does not exist: exit 1"
like $ERR "no case 99" "and says so"
run desk-reply --staff 1
rc 64 "reply options without a case: exit 64"

# --- closed cases, inactive channels ---
desk-case set 3 --status closed > /dev/null
run desk-reply 3 "late"
rc 65 "a reply to a closed case: exit 65"
like $ERR "case 3 is closed \(reopen it to reply\)" "and says why"
run desk-reply --case 3 --reopen "reopened"
rc 0 "--reopen: exit 0"
run desk-case show 3
json $OUT '.status' '"open"' "the case is open again"
printf '{"channel":"quiet","user_custom_id":"q1","content":"hi"}\n' | desk-case > /dev/null
qcase=$(desk-case list --channel quiet | jq .case_id)
# Only serve and send look at "active" (issue 9): the reply is queued.
run desk-reply $qcase "to an inactive channel"
rc 0 "a reply on an inactive channel (command): queued, exit 0"
json $OUT '[.channel,.case_id]' "[\"quiet\",$qcase]" "its message.out names the channel"
desk-webhook channel rm quiet
printf '{"type":"reply","case_id":%s,"content":"x"}\n{"type":"reply","case_id":3,"content":"ok"}\n' $qcase > $T/in
run desk-reply $T/in
rc 65 "a reply on a channel that is gone (stream): exit 65"
json $ERR '[.line,.field]' '[1,"case_id"]' "an error event for it"
like $ERR "channel quiet, which is gone" "and says why"
json $OUT '.case_id' '3' "the next reply goes through"

# --- a merged case: replies go to the survivor ---
inmsg app u4 "a"; desk-case set "$(desk-case list --user-custom-id u4 | jq .case_id)" --status closed > /dev/null
inmsg app u4 "b"
ids=$(desk-case list --user-custom-id u4 | jq .case_id | sort -n | tr '\n' ' ')
set -- $ids
desk-case set $1 --status open > /dev/null
desk-case merge $2 $1 > /dev/null
run desk-reply $2 "to the merged one"
json $OUT '.case_id' "$1" "a reply to a merged case goes to the survivor"

# --- bad reply events ---
cat > $T/in <<'IN'
{"type":"reply","content":"x"}
{"type":"reply","case_id":"3","content":"x"}
{"type":"reply","case_id":3,"content":"x","via":"bot"}
{"type":"reply","case_id":3,"content":"x","via":"rule"}
{"type":"reply","case_id":3}
{"type":"reply","case_id":3,"content":"x","staff_id":-4}
{"type":"reply","case_id":3,"content":"x","attachments":[{"name":"no url"}]}
{"type":"reply","case_id":777,"content":"x"}
IN
run desk-reply $T/in
rc 65 "bad reply events: exit 65"
json $ERR '[.line,.field,.reason]' '[1,"case_id","missing"]
[2,"case_id","must be a case id"]
[3,"via","must be agent, api or rule"]
[4,"rule","a rule reply names its rule"]
[5,"content","nothing to send: no content and no attachments"]
[6,"staff_id","must be an agent'"'"'s id: a positive whole number or a string"]
[7,"attachments","each needs a url"]
[8,"case_id","no case 777"]' "each is reported with its field"
is "$(wc -c < $OUT | tr -d ' ')" 0 "and none is sent"

# Sizes, checked in the walk that reads the members: reported after every
# other check, a member too long even when the reply does not read it.
att=$(awk 'BEGIN { for (i = 0; i < 101; i++) printf "%s{\"url\":\"u\"}", i ? "," : "" }')
ext=$(awk 'BEGIN { for (i = 0; i < 17000; i++) printf "e" }')
printf '%s\n' "{\"type\":\"reply\",\"case_id\":3,\"content\":\"x\",\"via\":\"bot\",\"attachments\":[$att]}" \
	"{\"type\":\"reply\",\"case_id\":3,\"content\":\"x\",\"attachments\":[$att]}" \
	"{\"type\":\"reply\",\"case_id\":3,\"content\":\"x\",\"external\":{\"a\":\"$ext\"}}" > $T/in
run desk-reply $T/in
rc 65 "replies too large: exit 65"
json $ERR '[.line,.field,.reason]' '[1,"via","must be agent, api or rule"]
[2,"attachments","more than 100 attachments"]
[3,"external","longer than 16384 bytes (all external ids together)"]' \
	"a bad member before the sizes; then the first member too large"
is "$(wc -c < $OUT | tr -d ' ')" 0 "and none is sent"

# --- loop protection: rule replies per case ---
inmsg app loop "start"
lc=$(desk-case list --user-custom-id loop | jq .case_id)
awk -v c=$lc 'BEGIN { for (i = 1; i <= 12; i++) printf "{\"type\":\"reply\",\"case_id\":%d,\"content\":\"auto %d\",\"via\":\"rule\",\"rule\":\"echo\",\"source_id\":\"s%d\"}\n", c, i, i }' > $T/loop
printf '{"type":"reply","case_id":%d,"content":"agent at the limit","staff_id":1}\n{"type":"reply","case_id":%d,"content":"api at the limit","via":"api"}\n' $lc $lc >> $T/loop
run desk-reply $T/loop
rc 65 "12 rule replies at once: exit 65"
is "$(jq -c 'select(.via=="rule")' $OUT | wc -l | tr -d ' ')" 10 "10 rule replies in 10 s pass"
json $ERR '[.line,.field,.reason]' "[11,\"rule\",\"rule reply limit for case $lc reached: 10 in 10 s (DESK_REPLY_LIMITS); dropped\"]
[12,\"rule\",\"rule reply limit for case $lc reached: 10 in 10 s (DESK_REPLY_LIMITS); dropped\"]" \
	"the 11th and 12th are dropped, each with an error event"
is "$(jq -r 'select(.via!="rule") | .via' $OUT | tr '\n' ' ')" "agent api " "agent and API replies are never dropped"
ls $DESK_STORE/rejects/*.raw > /dev/null; ok $? "dropped replies are kept in rejects/"
DESK_NOW=2026-11-21T09:00:11Z run desk-reply $T/loop
is "$(jq -c 'select(.via=="rule" and .duplicate == true)' $OUT | wc -l | tr -d ' ')" 10 "replayed later: the 10 sent are duplicates"
is "$(jq -c 'select(.via=="rule" and .duplicate != true)' $OUT | wc -l | tr -d ' ')" 2 \
	"11 s later the window has room: the two dropped go through"
inmsg app loop2 "start"
l2=$(desk-case list --user-custom-id loop2 | jq .case_id)
awk -v c=$l2 'BEGIN { for (i = 1; i <= 4; i++) printf "{\"type\":\"reply\",\"case_id\":%d,\"content\":\"a%d\",\"via\":\"rule\",\"rule\":\"r\"}\n", c, i }' > $T/loop2
DESK_REPLY_LIMITS=3/60 run desk-reply $T/loop2
is "$(lines $OUT)" 3 "DESK_REPLY_LIMITS=3/60: three pass"
DESK_REPLY_LIMITS=three run desk-reply $T/loop2
rc 78 "a bad DESK_REPLY_LIMITS: exit 78"

# --- on behalf of the user: the last-chat rule ---
inmsg app u5 "mine"
c5=$(desk-case list --user-custom-id u5 | jq .case_id)
u5=$(desk-case list --user-custom-id u5 | jq .user_id)
run desk-reply --as-user --user $u5 --channel app "added by the integrator"
rc 0 "--as-user: exit 0"
json $OUT '[.channel,.user_custom_id,.user_id,.case_id,.trigger,.b_from_api,.content]' \
	"[\"app\",\"u5\",$u5,$c5,\"updated\",1,\"added by the integrator\"]" "an open case: the same case"
desk-case set $c5 --status closed > /dev/null
runin "after close" desk-reply --as-user --user $u5 --channel app
rc 0 "--as-user on a closed case: exit 0"
json $OUT '[.trigger,.case_id > '$c5']' '["new",true]' "a closed case: a new case"
new5=$(jq .case_id $OUT)
desk-case set $new5 --status pending > /dev/null
run desk-reply --as-user --user $u5 --channel app "while pending"
json $OUT '[.case_id,.case_status]' "[$new5,\"pending\"]" "a pending case: the same case"
desk-case set $c5 --status open > /dev/null
desk-case merge $new5 $c5 > /dev/null
run desk-reply --as-user --user $u5 --channel app "after the merge"
json $OUT '.case_id' "$c5" "a merged case: the survivor"
run desk-case show $c5
json $OUT '.messages[-1] | [.user_id,.staff_id,.b_from_api]' "[$u5,0,1]" "stored as the user's message"
run desk-reply --as-user --user 9999 --channel app "x"
rc 1 "--as-user for no such user: exit 1"
run desk-reply --as-user --user $u5 --channel nope "x"
rc 78 "--as-user on an unknown channel: exit 78"

run desk-case fsck
json $OUT '.damage' 0 "fsck is clean"

done_testing
