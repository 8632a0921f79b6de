#!/bin/sh
# desk-webhook send to a custom channel: the help desk API's webhook with
# Standard Webhooks headers, verified by a receiver of its own (python's
# hmac); the filter passes other events through and consumes message.out;
# a replay delivers nothing twice; inactive channels wait.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/send-lib.sh"

SEC=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
stub app --secret $SEC
chan app custom "http://127.0.0.1:$PORT/hook"
secret app secret $SEC
users 2 app
reply 1 'hello *there*' > /dev/null
printf '{"type":"reply","case_id":2,"content":"with a file","via":"rule","rule":"r1","source_id":"s1","attachments":[{"url":"https://files.example/a.pdf","file_name":"a.pdf"}]}\n' |
	desk-reply >> $T/outs
printf '{"type":"reply","case_id":2,"content":"by the api","via":"api"}\n' | desk-reply >> $T/outs
{ echo '{"type":"note","keep":"me"}'; cat $T/outs; echo '{"type":"other","n":2}'; } > $T/in

runpipe $T/in desk-webhook send
rc 0 "send as a filter: exit 0"
json $OUT 'select(.type != "delivery")' '{"keep":"me","type":"note"}
{"n":2,"type":"other"}' "other events pass through as they are, message.out is consumed"
jq -c 'select(.type == "delivery") | [.out_id, .status, .http_status, .attempt, .next_attempt_at, .error]' $OUT | sort > $T/d
is "$(cat $T/d)" '[1,"delivered",200,1,null,null]
[2,"delivered",200,1,null,null]
[3,"delivered",200,1,null,null]' "one delivery event per attempt: delivered, 200, attempt 1"
is "$(lines $T/app.log)" 3 "the receiver got three requests"
json $T/app.log '[.method, .path, .sig_ok, .headers["content-type"]]' '["POST","/hook",true,"application/json"]
["POST","/hook",true,"application/json"]
["POST","/hook",true,"application/json"]' "POSTed to the channel's url, each signature verified by the receiver"
by() { echo "select(.body | fromjson | .object.content == \"$1\")"; }
json $T/app.log "$(by 'hello *there*') | .body | fromjson" \
	'{"object":{"attachments":[],"b_from_api":0,"case_id":1,"content":"hello *there*","created_at":"2026-11-21T09:00:00Z","custom_user_id":"u1","message_id":3,"sent_via_rule":0,"staff_id":0,"user_id":1},"type":"message_new"}' \
	"the body is the API's webhook: message_new and the message object"
json $T/app.log "$(by 'with a file')"' | .body | fromjson | .object | [.sent_via_rule, .b_from_api, .attachments[0].url]' \
	'[1,0,"https://files.example/a.pdf"]' "a rule's reply: sent_via_rule 1, its attachment"
json $T/app.log "$(by 'by the api')"' | .body | fromjson | .object | [.sent_via_rule, .b_from_api]' \
	'[0,1]' "an API reply: b_from_api 1"
json $T/app.log "$(by 'hello *there*')"' | .headers | [."webhook-timestamp", (."webhook-id" | test("^msg_[0-9a-f]{32}$")), (."webhook-signature" | startswith("v1,"))]' \
	"[\"$(now_s)\",true,true]" "webhook-timestamp is now (DESK_NOW), webhook-id msg_..., signature v1"
jq -r 'select(.type == "delivery") | .webhook_id' $OUT | sort > $T/wids
jq -r '.headers["webhook-id"]' $T/app.log | sort > $T/got
is "$(cat $T/got)" "$(cat $T/wids)" "the delivery events name the webhook-ids the receiver got"
# The body and headers as sent check out with desk's own verify, too.
jq -j "$(by 'hello *there*') | .body" $T/app.log > $T/body
jq -r "$(by 'hello *there*')"' | .headers | "webhook-id: \(."webhook-id")\nwebhook-timestamp: \(."webhook-timestamp")\nwebhook-signature: \(."webhook-signature")"' $T/app.log > $T/hdrs
printf '%s\n' $SEC > $T/key
run desk-webhook verify --secret-file $T/key --headers $T/hdrs < $T/body
rc 0 "desk-webhook verify accepts what send signed"

run desk-webhook outbox --all
json $OUT '[.out_id, .state, .attempt, .http_status]' '[1,"delivered",1,200]
[2,"delivered",1,200]
[3,"delivered",1,200]' "outbox --all: each entry delivered at attempt 1"
run desk-webhook outbox
rc 1 "outbox: nothing queued (exit 1)"

# A replay of the same events delivers nothing again.
runpipe $T/in desk-webhook send
rc 0 "a replay: exit 0"
is "$(jq -c 'select(.type == "delivery")' $OUT | wc -l | tr -d ' ')" 0 "a replay: no delivery event"
is "$(lines $T/app.log)" 3 "a replay: the receiver got nothing more"
run desk-webhook send --drain
rc 0 "--drain with nothing due: exit 0"

# message.out of no outbox entry: rejected, quarantined, exit 65.
runin '{"type":"message.out","out_id":99}' desk-webhook send
rc 65 "a message.out of no outbox entry: exit 65"
like $ERR '"field":"out_id".*no outbox entry 99' "the error names out_id"

# An inactive channel is not sent to: its entries wait.
reply 1 'while inactive' > /dev/null
chan_set app '.active = false'
run desk-webhook send --drain
rc 75 "--drain with an inactive channel's entry left: exit 75"
is "$(lines $T/app.log)" 3 "an inactive channel gets nothing"
json "$(desk-webhook outbox > $T/ob; echo $T/ob)" '[.out_id, .state, .attempt]' '[4,"pending",0]' "its entry is still pending"
chan_set app 'del(.active)'
run desk-webhook send --drain
rc 75 "a channel file without an active field is not active (never activated)"
chan_set app '.active = true'
run desk-webhook send --drain
rc 0 "active again: delivered"
is "$(lines $T/app.log)" 4 "the receiver got the waiting entry"

# With a signing key (channel keygen) as well: v1 and v1a, space-separated;
# the v1a checks out with the public key keygen printed.
desk-webhook channel keygen app | jq -r .public_key > $T/pub
reply 1 'signed twice' > /dev/null
run desk-webhook send --drain
rc 0 "delivered with a secret and a signing key"
jq -r "$(by 'signed twice') | .headers[\"webhook-signature\"]" $T/app.log > $T/sigs
like $T/sigs '^v1,[A-Za-z0-9+/=]+ v1a,[A-Za-z0-9+/=]+$' "webhook-signature: v1 and v1a"
json $T/app.log "$(by 'signed twice') | .sig_ok" true "the receiver's hmac verifies the v1 among them"
jq -j "$(by 'signed twice') | .body" $T/app.log > $T/body2
jq -r "$(by 'signed twice')"' | .headers | "webhook-id: \(."webhook-id")\nwebhook-timestamp: \(."webhook-timestamp")\nwebhook-signature: \(."webhook-signature" | split(" ") | map(select(startswith("v1a,"))) | .[0])"' $T/app.log > $T/hdrs2
run desk-webhook verify --secret-file $T/pub --headers $T/hdrs2 < $T/body2
rc 0 "the v1a signature alone verifies with the whpk_ public key"
printf 'x' >> $T/body2
run desk-webhook verify --secret-file $T/pub --headers $T/hdrs2 < $T/body2
rc 77 "and not for a body one byte longer"
rm "$DESK_STORE/secrets/app.signkey"

# Unsigned without a secret; a token as a bearer token instead.
rm "$DESK_STORE/secrets/app.secret"
secret app token tok123
reply 1 'with a token' > /dev/null
run desk-webhook send --drain
rc 0 "delivered with a token"
json $T/app.log "$(by 'with a token') | .headers | [.authorization, has(\"webhook-signature\")]" '["Bearer tok123",false]' \
	"without a secret: no signature, the token as Authorization: Bearer"
# One sender at a time: a --drain while another holds send_lock exits 75.
reply 1 'one sender' > /dev/null
hold "$DESK_STORE/send_lock"
run desk-webhook send --drain
rc 75 "--drain while another send holds the store: exit 75"
like $ERR 'another desk-webhook send' "it says why"
release
run desk-webhook send --drain
rc 0 "once it is free: delivered"

run desk-case fsck
rc 0 "fsck is clean"

done_testing
