#!/bin/sh
# desk-webhook recv and the normalisers (custom, chat2desk, blip) on
# real-shaped payloads (REFERENCES §2-3, the seeds' examples), their skip
# rules and type errors, Standard Webhooks signatures, CGI, and the events
# end to end into desk-case.
. "$(dirname "$0")/lib.sh"

H=$TOP/tests/data/hooks
desk-webhook channel add app > /dev/null
desk-webhook channel add c2d --connector chat2desk --type sync > /dev/null
desk-webhook channel add bot --connector blip --type sync > /dev/null
# Channel settings the way channel add/set writes them (operator_id,
# service_messages): edited here so this test needs only recv.
# jsons FILE JQ WANT DESC: json over the whole stream, slurped.
jsons() { jq -s . "$1" > $T/slurp; json $T/slurp "$2" "$3" "$4"; }
setch() { jq -c "$2" $DESK_STORE/channels/$1.json > $T/ch && mv $T/ch $DESK_STORE/channels/$1.json; }

# --- custom ---
run desk-webhook recv --channel app $H/custom-case.json
rc 0 "custom: the API's create-case body"
json $OUT . '{"channel":"app","company":"Acme","content":"I cannot log in","email":"ann@example.org","fields":{"tariff":"gold"},"name":"Ann","phone":"+7 999 123-45-67","subject":"Login","user_custom_id":"u1"}' \
	"custom: desk's names, the API's channel id not taken for the channel"
printf '[{"user_custom_id":"u2","content":"a","id":"m1"},{"type":"status","user_custom_id":"u2","user_id":99,"trigger":"new"},{"case":{"user_custom_id":"u3","content_html":"<b>b</b>"}}]' > $T/arr
run desk-webhook recv --channel app --header 'webhook-id: msg_9' $T/arr
rc 0 "custom: an array of events and cases"
jsons $OUT '[.[]|[.type,.id,.user_custom_id,.content,.user_id,.trigger]]' \
	'[[null,"m1","u2","a",null,null],["status","msg_9.1","u2",null,null,null],[null,"msg_9.2","u3","<b>b</b>",null,null]]' \
	"custom: own ids kept, the webhook-id numbered, desk's own fields never taken from outside"
cat > $T/bad <<'IN'
{"user_custom_id":7,"content":"x"}
{"user_custom_id":"u","content":["x"]}
{"case":{"user_custom_id":"u","content":"x","user_email":5}}
{"case":"x"}
{"user_custom_id":"u"}
{"user_custom_id":"u","content":"x","attachments":[{"file_name":"a"}]}
{"user_custom_id":"u","content":"x","email":"a@b","user_email":"c@d"}
{"user_custom_id":"u","content":"x","channel":"c2d"}
{"type":"reply","user_custom_id":"u","content":"x"}
{"user_custom_id":"u","content":"x","external":{"dialog_id":5}}
[1]
not json
{"user_custom_id":"u","content":"x","fields":[]}
{"type":"status","user_custom_id":"u","status":"done"}
IN
run desk-webhook recv --channel app --lines $T/bad
rc 65 "custom: bad bodies: exit 65"
is "$(cat $OUT)" "" "custom: nothing from them"
sed 's/^desk-webhook: [^:]*:\([0-9]*\): /\1 /' $ERR > $T/why
is "$(cut -d: -f1 $T/why | tr '\n' '|')" "1 user_custom_id|2 content|3 case.user_email|4 case|5 content|6 attachments[0].url|7 user_email|8 channel|9 type|10 external.dialog_id|11 [0]|12 body|13 fields|14 status|" \
	"custom: each refusal names its line and field"
like $ERR "^desk-webhook: $T/bad:1: user_custom_id: must be a string" "custom: desk-webhook: FILE:LINE: field: reason"
is "$(ls $DESK_STORE/rejects/*.raw | wc -l | tr -d ' ')" 14 "custom: every bad body quarantined"
jq -r .field $DESK_STORE/rejects/*.json | sort | head -n 1 > $T/f
is "$(cat $T/f)" "[0]" "custom: the reject says the field"
f=$(grep -l '"line":3' $DESK_STORE/rejects/*.json); cmp -s "${f%.json}.raw" /dev/null
isnt "$(cat ${f%.json}.raw)" "" "custom: the bytes are kept as they came"
is "$(cat ${f%.json}.raw)" "$(sed -n 3p $T/bad)" "custom: the quarantined body is line 3's"

# --- signatures (Standard Webhooks) ---
echo 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' > $DESK_STORE/secrets/app.secret
chmod 600 $DESK_STORE/secrets/app.secret
printf '{"test": 2432232314}' > $T/kat
sig=v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
hdr() { echo "--header=webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek"; }
recv_signed() { # recv_signed NOW TIMESTAMP SIGNATURES FILE
	DESK_NOW=$1 run desk-webhook recv --channel app --header "webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek" \
		--header "webhook-timestamp: $2" --header "webhook-signature: $3" $4
}
recv_signed 1614265330 1614265330 $sig $T/kat
rc 65 "signed: the known-answer body verifies (and is no message: 65)"
like $ERR 'user_custom_id: missing' "signed: refused by the normaliser, after the signature"
printf '{"user_custom_id":"s1","content":"signed"}' > $T/body
sign() { python3 -c 'import base64,hashlib,hmac,sys
k=base64.b64decode(sys.argv[1][6:]); m=("%s.%s." % (sys.argv[2], sys.argv[3])).encode()+open(sys.argv[4],"rb").read()
print("v1,"+base64.b64encode(hmac.new(k,m,hashlib.sha256).digest()).decode())' "$@"; }
old=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw new=whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX
good=$(sign $old msg_p5jXN8AQM9LWM0D4loKWxJek 1800000000 $T/body)
recv_signed 1800000000 1800000000 "$good" $T/body
rc 0 "signed: good"
json $OUT .id '"msg_p5jXN8AQM9LWM0D4loKWxJek"' "signed: the webhook-id is the event's id"
recv_signed 1800000300 1800000000 "$good" $T/body
rc 0 "signed: 300 s old still passes"
recv_signed 1800000301 1800000000 "$good" $T/body
rc 77 "signed: stale (301 s) is 77"
like $ERR '^desk-webhook: .*: webhook-timestamp: too old' "signed: stale, said so"
recv_signed 1799999699 1800000000 "$good" $T/body
rc 77 "signed: from the future (301 s) is 77"
like $ERR 'webhook-timestamp: in the future' "signed: future, said so"
recv_signed 1800000000 1800000000 v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= $T/body
rc 77 "signed: bad signature is 77"
like $ERR 'webhook-signature: no valid signature' "signed: bad, said so"
unlike $ERR 'MfKQ9r8' "signed: the secret is never in the reason"
printf '{"user_custom_id":"s1","content":"signeD"}' > $T/tampered
recv_signed 1800000000 1800000000 "$good" $T/tampered
rc 77 "signed: tampered body is 77"
is "$(cat $OUT)" "" "signed: nothing comes of it"
n=$(ls $DESK_STORE/rejects | wc -l)
is "$n" 30 "signed: unauthenticated bodies are not quarantined"
rotated="$(sign $new msg_p5jXN8AQM9LWM0D4loKWxJek 1800000000 $T/body) $good"
recv_signed 1800000000 1800000000 "$rotated" $T/body
rc 0 "signed: rotated keys, two signatures, the old key still passes"
recv_signed 1800000000 1800000000 "$(sign $new msg_p5jXN8AQM9LWM0D4loKWxJek 1800000000 $T/body)" $T/body
rc 77 "signed: the new key's signature alone fails an old-key channel"
DESK_NOW=1800000000 run desk-webhook recv --channel app --header 'webhook-id: x' $T/body
rc 77 "signed: a channel with a secret takes nothing unsigned once headers are given"
run desk-webhook recv --channel app $T/body
rc 0 "signed: without headers recv skips auth (a replay)"
rm $DESK_STORE/secrets/app.secret
echo 's3cret-t0ken' > $DESK_STORE/secrets/app.token
run desk-webhook recv --channel app --header 'Authorization: Bearer s3cret-t0ken' $T/body
rc 0 "custom token: Authorization: Bearer TOKEN passes"
run desk-webhook recv --channel app --header 'Authorization: Bearer s3cret-t0kem' $T/body
rc 77 "custom token: a wrong token is 77"
unlike $ERR 's3cret' "custom token: not in the reason"
rm $DESK_STORE/secrets/app.token

# --- CGI ---
printf '{"user_custom_id":"g1","content":"cgi"}' > $T/cgi
echo "$new" > $DESK_STORE/secrets/app.secret
cgisig=$(sign $new wh_1 1800000000 $T/cgi)
DESK_NOW=1800000000 REQUEST_METHOD=POST CONTENT_LENGTH=$(wc -c < $T/cgi) HTTP_WEBHOOK_ID=wh_1 \
	HTTP_WEBHOOK_TIMESTAMP=1800000000 HTTP_WEBHOOK_SIGNATURE="$cgisig" \
	run desk-webhook recv --channel app --cgi < $T/cgi
rc 0 "cgi: a signed request from the CGI environment"
json $OUT '[.id,.content]' '["wh_1","cgi"]' "cgi: its event"
DESK_NOW=1800000000 REQUEST_METHOD=POST CONTENT_LENGTH=$(wc -c < $T/cgi) HTTP_WEBHOOK_ID=wh_1 \
	HTTP_WEBHOOK_TIMESTAMP=1800000000 run desk-webhook recv --channel app --cgi < $T/cgi
rc 77 "cgi: always authenticated (no signature: 77)"
rm $DESK_STORE/secrets/app.secret

# --- chat2desk ---
run desk-webhook recv --channel c2d $H/c2d-inbox.json
rc 0 "c2d: the inbox hook"
json $OUT . '{"channel":"c2d","content":"Hello","external":{"channel_id":"17","chat_id":"100|chat2desk","client_id":"100","client_phone":"[tg] 807892","dialog_id":"4324035","request_id":"8725057","transport":"telegram"},"id":"106773169","name":"Peter","user_custom_id":"100"}' \
	"c2d: client_id as a string, ids under external, [tg] is no phone"
c2d() { jq -c "$1" $H/c2d-inbox.json; }
{
	c2d '.type="to_client"'; c2d '.type="autoreply"'; c2d '.type="system"'
	c2d '.operator_id=41164'
	c2d '.hook_type="outbox"'
	c2d '.text="c2d: dialog closed"'
	c2d '.client.phone="+79991234567"|.message_id=2|.attachments=[{"link":"https://storage.chat2desk.com/a.jpg","name":"a.jpg"}]|.text=null'
} > $T/c2d
run desk-webhook recv --channel c2d --lines $T/c2d
rc 0 "c2d: echoes, other operators, other hooks"
jsons $OUT '[.[]|[.id,.phone,.attachments,.content]]' '[["2","+79991234567",[{"file_name":"a.jpg","url":"https://storage.chat2desk.com/a.jpg"}],null]]' \
	"c2d: only the client's message, its phone and attachment"
like $ERR 'skipped 6: 3 echoes of replies, 1 of other operators, 2 not for desk' "c2d: skips counted by reason"
setch c2d '.operator_id=41164|.service_messages=true'
run desk-webhook recv --channel c2d --lines $T/c2d
jsons $OUT '[.[]|[.type,.id,.external.operator_id]]' '[[null,"106773169","41164"]]' \
	"c2d: with operator 41164: only that operator's chat"
like $ERR 'skipped 6: 3 echoes of replies, 2 of other operators, 1 not for desk' "c2d: the general queue is now another operator's"
setch c2d '.operator_id=null'
{
	c2d '.client_id=null'; c2d '.message_id=1.5'; c2d '.text=5'; c2d '.client="Peter"'
	c2d '.client.name=[]'; c2d '.type=null'; c2d '.attachments={}'; c2d '.attachments=[{"name":"x"}]'
	c2d '.dialog_id=true'; c2d '.text=""'; echo '[]'
} > $T/c2dbad
run desk-webhook recv --channel c2d --lines $T/c2dbad
rc 65 "c2d: type errors: 65"
sed 's/^desk-webhook: [^:]*:\([0-9]*\): /\1 /' $ERR | cut -d: -f1 | tr '\n' '|' > $T/why
is "$(cat $T/why)" "1 client_id|2 message_id|3 text|4 client|5 client.name|6 type|7 attachments|8 attachments[0].url|9 dialog_id|10 text|11 body|" \
	"c2d: each names its field"
echo 'tok-c2d' > $DESK_STORE/secrets/c2d.token
run desk-webhook recv --channel c2d --header 'authorization: tok-c2d' $H/c2d-inbox.json
rc 0 "c2d: the bare token in Authorization passes"
run desk-webhook recv --channel c2d --header 'authorization: tok-c2e' $H/c2d-inbox.json
rc 77 "c2d: a wrong token is 77"
rm $DESK_STORE/secrets/c2d.token
run desk-webhook recv --channel c2d --header 'authorization: tok-c2d' $H/c2d-inbox.json
rc 77 "c2d: no token configured, and auth asked for: 77"

# --- blip ---
run desk-webhook recv --channel bot $H/blip-ticket.json $H/blip-message.json $H/blip-media.json $H/blip-closed.json
rc 0 "blip: ticket, message, media, closed"
jsons $OUT '[.[]|[.type,.id,.user_custom_id,.conversation_id,.content,.external.ticket_id,.status]]' \
	'[[null,"Ticket:a1b2:Waiting","5511999@wa.gw.msging.net","a1b2","Hello world!","a1b2",null],[null,"fwd:fwd:m9",null,"a1b2","second","a1b2",null],[null,"fwd:fwd:m10",null,"a1b2",null,"a1b2",null],["status","Ticket:a1b2:ClosedClient","5511999@wa.gw.msging.net",null,null,"a1b2","closed"]]' \
	"blip: events, the messages by their ticket"
sed -n 3p $OUT > $T/media
json $T/media .attachments '[{"file_name":"y.jpg","file_size":1234,"mime_type":"image/jpeg","url":"https://x/y.jpg"}]' "blip: a media link is an attachment"
b() { jq -c "$1" $H/blip-message.json; }
t() { jq -c "$1" $H/blip-ticket.json; }
{
	b '.type="application/vnd.lime.location+json"|.content={"latitude":-22.9,"longitude":-43.2}'
	b '.type="application/vnd.lime.contact+json"|.content={"name":"x"}'
	t '.content.status="Open"'; t '.content.status="ClosedAttendant"'
	b 'del(.from)|.to="a1b2@desk.msging.net/Webhook"'
	b 'del(.content)|.event="received"'
	t '.content.customerInput={"type":"application/vnd.lime.media-link+json","value":{"uri":"https://x/z.png","type":"image/png"}}'
} > $T/blip
run desk-webhook recv --channel bot --lines $T/blip
rc 0 "blip: other content and other envelopes"
jsons $OUT '[.[]|[.content,(.attachments//[]|length)]]' '[["[location: -22.900000, -43.200000]",0],["[application/vnd.lime.contact+json content]",0],[null,1]]' \
	"blip: placeholders said, a media customerInput an attachment"
like $ERR 'skipped 4: 1 echoes of replies, 0 of other operators, 3 not for desk' "blip: skips counted"
{
	b '.from="someone@else.net"'; b '.id=5'; b '.content=5'; t '.content.customerIdentity=null'
	t '.content.status=1'; t '.content=[]'; b 'del(.type)'
	t '.content.customerInput.value=[]'
} > $T/blipbad
run desk-webhook recv --channel bot --lines $T/blipbad
rc 65 "blip: type errors: 65"
sed 's/^desk-webhook: [^:]*:\([0-9]*\): /\1 /' $ERR | cut -d: -f1 | tr '\n' '|' > $T/why
is "$(cat $T/why)" "1 from|2 id|3 content|4 content.customerIdentity|5 content.status|6 content|7 type|8 content.customerInput.value|" \
	"blip: each names its field"
echo 'blipkey' > $DESK_STORE/secrets/bot.token
run desk-webhook recv --channel bot --header 'Authorization: Key blipkey' $H/blip-ticket.json
rc 0 "blip: its auth key passes"
run desk-webhook recv --channel bot --header 'Authorization: Key blipkeY' $H/blip-ticket.json
rc 77 "blip: a wrong key is 77"
rm $DESK_STORE/secrets/bot.token

# --- end to end: recv | desk-case, and replays ---
desk-webhook recv --channel c2d $H/c2d-inbox.json > $T/ev1
run desk-case $T/ev1
rc 0 "e2e c2d: desk-case takes the event"
json $OUT '[.trigger,.case_id,.user_custom_id]' '["new",1,"100"]' "e2e c2d: a new case"
run desk-case $T/ev1
json $OUT '[.duplicate,.case_id,.message_id]' '[true,1,1]' "e2e c2d: a repeated delivery is a duplicate"
run desk-case show 1
json $OUT '[.external.chat_id,.external.dialog_id,(.messages|length)]' '["100|chat2desk","4324035",1]' \
	"e2e c2d: the store has the case, its ids and one message"
setch c2d '.service_messages=true'
c2d '.text="c2d: dialog closed"|.message_id=3' > $T/close
desk-webhook recv --channel c2d $T/close > $T/ev2
run desk-case $T/ev2
json $OUT '[.type,.case_id,.case_status]' '["status",1,"closed"]' "e2e c2d: the dialog closed closes the case"
desk-webhook recv --channel bot $H/blip-ticket.json $H/blip-message.json $H/blip-media.json $H/blip-message.json > $T/ev3
run desk-case $T/ev3
rc 0 "e2e blip: ticket and its messages into desk-case"
jsons $OUT '[.[]|[.case_id,.trigger,.user_custom_id,.duplicate]]' \
	'[[2,"new","5511999@wa.gw.msging.net",null],[2,"updated","5511999@wa.gw.msging.net",null],[2,"updated","5511999@wa.gw.msging.net",null],[2,"updated","5511999@wa.gw.msging.net",true]]' \
	"e2e blip: the customer's messages on the ticket's case, a repeat a duplicate"
run desk-case list --channel bot
json $OUT '[.case_id,.message_count]' '[2,3]' "e2e blip: three messages stored"
run desk-case fsck
rc 0 "e2e: fsck passes with the conversation keys"
desk-webhook recv --channel bot $H/blip-closed.json | desk-case > $T/ev4
json $T/ev4 '.case_status' '"closed"' "e2e blip: closed by the client closes the case"
b '.from="zz9@desk.msging.net/Webhook"|.id="fwd:x"' > $T/orphan
desk-webhook recv --channel bot $T/orphan > $T/ev5
run desk-case $T/ev5
rc 65 "e2e blip: a message of an unknown ticket is refused by desk-case"
like $ERR '"field":"conversation_id"' "e2e blip: naming the conversation"

# --- the command line ---
run desk-webhook recv $T/body
rc 64 "recv without --channel: 64"
run desk-webhook recv --channel nope $T/body
rc 78 "recv on an unknown channel: 78"
run desk-webhook recv --channel app $T/missing
rc 64 "recv of a file that is not there: 64"
desk-webhook channel add off --inactive > /dev/null
run desk-webhook recv --channel off $T/body
rc 0 "recv works on an inactive channel"
runin '' desk-webhook recv --channel app
rc 65 "recv of an empty body: 65"
run desk-webhook recv --channel app $T/body > /dev/full
run sh -c "desk-webhook recv --channel app $T/body > /dev/full"
rc 74 "recv: a write error on stdout is 74"

done_testing
