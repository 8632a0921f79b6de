#!/bin/sh
# desk-webhook send to Chat2Desk and Blip, against stubs of their APIs:
# exact requests (path, Authorization, body), the ids each answer gives,
# Chat2Desk's {"status":"error"} with HTTP 200 as a failure, long texts
# split on word boundaries in order, markdown kept for Chat2Desk and made
# plain for Blip.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/send-lib.sh"

# ---- Chat2Desk
stub c2d --kind chat2desk
chan c2d chat2desk "http://127.0.0.1:$PORT/hook"
chan_set c2d ".api_url = \"http://127.0.0.1:$PORT/v1/\" | .operator_id = \"42\""
secret c2d token c2dtoken
printf '{"channel":"c2d","user_custom_id":"500482964","content":"hi","external":{"client_id":"500482964","dialog_id":"77","channel_id":"12","transport":"telegram"}}\n' |
	desk-case > $T/c
c=$(jq -r .case_id $T/c)
o=$(reply $c '__bold__ and *italics* [link](http://example.com/)')
run desk-webhook send --drain
rc 0 "chat2desk: delivered"
json $T/c2d.log '[.method, .path, .headers.authorization, .headers["content-type"]]' \
	'["POST","/v1/messages","c2dtoken","application/json"]' "POST {api_url}/messages, Authorization: the raw token"
json $T/c2d.log '.body | fromjson' \
	'{"channel_id":12,"client_id":500482964,"operator_id":42,"text":"__bold__ and *italics* [link](http://example.com/)","transport":"telegram","type":"to_client"}' \
	"the body: client_id, text with its markdown as it is, to_client, operator_id, channel_id, transport"
json $OUT "select(.out_id == $o) | [.status, .http_status, .remote_id]" '["delivered",200,"9001"]' \
	"the message_id Chat2Desk returned is recorded"
is "$(desk-webhook outbox --all | jq -r "select(.out_id == $o) | .remote_id")" 9001 "and kept in the store"

# A long text: in parts cut at word boundaries, in order.
chan_set c2d '.max_text = 40'
long="one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen"
o=$(reply $c "$long")
: > $T/c2d.log
run desk-webhook send --drain
jq -r '.body | fromjson | .text' $T/c2d.log > $T/parts
is "$(lines $T/parts)" 3 "a text of $(printf %s "$long" | wc -c | tr -d ' ') characters: three requests"
is "$(awk '{ if (length($0) > 40) bad++ } END { print bad + 0 }' $T/parts)" 0 "none over max_text"
is "$(paste -sd ' ' $T/parts)" "$long" "in order, cut between words"
is "$(jq -c "select(.out_id == $o) | [.status, .attempt]" $OUT)" '["delivered",1]' "one delivery of the entry"

# {"status":"error"} with HTTP 200 is a failure.
kill $(echo $STUBS | awk '{ print $1 }')
stub c2derr --kind chat2desk --c2d-error
chan_set c2d ".api_url = \"http://127.0.0.1:$PORT/v1\" | del(.max_text)"
o=$(reply $c 'into the void')
run desk-webhook send --drain
json $OUT "select(.out_id == $o) | [.status, .http_status, .error]" \
	'["dead",200,"Chat2Desk answered status error: client not found"]' "status error with 200: dead, with Chat2Desk's message"

# ---- Blip
stub blip --kind blip
chan blip blip "http://127.0.0.1:$PORT/hook"
chan_set blip ".api_url = \"http://127.0.0.1:$PORT\""
secret blip token Ym90OmtleQ==
printf '{"channel":"blip","user_custom_id":"cust1","content":"hi","external":{"ticket_id":"T-1"}}\n' | desk-case > $T/c
c=$(jq -r .case_id $T/c)
o=$(reply $c '__bold__ and *italics* [link](http://example.com/)')
run desk-webhook send --drain
rc 0 "blip: delivered"
wid=$(jq -r "select(.out_id == $o) | .webhook_id" $OUT)
json $T/blip.log '[.method, .path, .headers.authorization, .status]' '["POST","/messages","Key Ym90OmtleQ==",202]' \
	"POST {api_url}/messages, Authorization: Key ..., answered 202"
json $T/blip.log '.body | fromjson' \
	"{\"content\":\"bold and italics link (http://example.com/)\",\"id\":\"$wid\",\"to\":\"T-1@desk.msging.net/Webhook\",\"type\":\"text/plain\"}" \
	"a LIME message to the ticket, as plain text, its id the webhook-id"
json $OUT "select(.out_id == $o) | [.status, .http_status]" '["delivered",202]' "delivered"
run desk-case fsck
rc 0 "fsck is clean"

done_testing
