#!/bin/sh
# A case's state to its platform: assigning a Blip case sends
# /tickets/change-status Open with the agent, closing it ClosedAttendant
# (after which a reply to it is refused); closing a Chat2Desk case PUTs
# its dialog closed. Each in order with the case's replies.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/send-lib.sh"

stub blip --kind blip
chan blip blip "http://127.0.0.1:$PORT"
secret blip token a2V5
printf '{"channel":"blip","user_custom_id":"cust1","content":"hi","external":{"ticket_id":"T-9"}}\n' | desk-case > $T/c
c=$(jq -r .case_id $T/c)
desk-case set $c --assignee agent7 > /dev/null
reply $c 'first answer' > /dev/null
desk-case set $c --status closed > /dev/null
run desk-webhook outbox
json $OUT '[.type, .command]' '["case.command","assign"]
["message.out",null]
["case.command","close"]' "queued in order: the assignment, the reply, the close"
run desk-webhook send --drain
rc 0 "delivered: exit 0"
json $T/blip.log '[.path, .headers.authorization]' '["/commands","Key a2V5"]
["/messages","Key a2V5"]
["/commands","Key a2V5"]' "a command, the message, a command, in that order"
json $T/blip.log 'select(.n == 1) | .body | fromjson | del(.id)' \
	'{"method":"set","resource":{"agentIdentity":"agent7","id":"T-9","status":"Open"},"to":"postmaster@desk.msging.net","type":"application/vnd.iris.ticket+json","uri":"/tickets/change-status"}' \
	"assigned: change-status Open with agentIdentity"
json $T/blip.log 'select(.n == 3) | .body | fromjson | .resource' '{"id":"T-9","status":"ClosedAttendant"}' \
	"closed: change-status ClosedAttendant"
printf '{"type":"reply","case_id":%s,"content":"too late","reopen":true}\n' $c > $T/r
run desk-reply $T/r
rc 65 "a reply to the finalised ticket: rejected, exit 65"
like $ERR 'finalised' "with a clear reason"
is "$(desk-webhook outbox | wc -l | tr -d ' ')" 0 "and nothing queued"

# Chat2Desk: closing the case closes the dialog; an assignment sends nothing.
stub c2d --kind chat2desk
chan c2d chat2desk "http://127.0.0.1:$PORT/v1"
secret c2d token tk
printf '{"channel":"c2d","user_custom_id":"42","content":"hi","external":{"client_id":"42","dialog_id":"777"}}\n' | desk-case > $T/c
c=$(jq -r .case_id $T/c)
desk-case set $c --assignee 5 > /dev/null
reply $c 'bye' > /dev/null
desk-case set $c --status closed > /dev/null
run desk-webhook send --drain
rc 0 "chat2desk: delivered"
json $T/c2d.log '[.method, .path, .body, .headers.authorization]' '["POST","/v1/messages","{\"client_id\":42,\"type\":\"to_client\",\"text\":\"bye\"}","tk"]
["PUT","/v1/dialogs/777","{\"state\":\"closed\"}","tk"]' "the reply, then PUT /dialogs/777 closed"
run desk-case fsck
rc 0 "fsck is clean"

done_testing
