#!/bin/sh
# desk-webhook channel: every subcommand; secrets only from files, 0600,
# never printed; the seed's Create / Create & Activate / Apply against stubs
# of the Chat2Desk and Blip APIs on 127.0.0.1 (tests/stub-platform.py).
. "$(dirname "$0")/lib.sh"

# Everything desk-webhook prints, kept to look for secrets in at the end.
ALL=$T/all-output
run() {
	"$@" > "$OUT" 2> "$ERR"
	RC=$?
	cat "$OUT" "$ERR" >> "$ALL"
}

# --- the stub platform ---
python3 "$TOP/tests/stub-platform.py" $T/port $T/log &
STUB=$!
trap 'kill $STUB 2> /dev/null; rm -rf "$T"' EXIT
n=0; while [ ! -s $T/port ] && [ $n -lt 500 ]; do sleep 0.01; n=$((n + 1)); done
PORT=$(cat $T/port)
API=http://127.0.0.1:$PORT/v1
# A port nothing listens on: bound, then closed.
DEAD=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
touch $T/log
requests() { jq -c "$1" $T/log; }   # requests JQ: what the stub received

printf 'c2d-good\n' > $T/c2d-good
printf 'c2d-bad\n' > $T/c2d-bad
printf 'c2d-broken\n' > $T/c2d-broken
printf 'blip-good\n' > $T/blip-good
printf 'blip-bad\n' > $T/blip-bad
HOOK=https://desk.example.org/hooks

# --- add, list, show: saved inactive; the connectors from their table ---
run desk-webhook channel add app
rc 0 "add: exit 0"
json $OUT '[.name,.connector,.type,.active]' '["app","custom","async",false]' "add saves the channel inactive"
run desk-webhook channel add x --connector smoke
rc 64 "an unknown connector: exit 64"
like $ERR '^desk-webhook: --connector: must be custom, chat2desk or blip: smoke$' "and lists the connectors"
run desk-webhook channel connectors
json $OUT '.connector' '"custom"
"chat2desk"
"blip"' "channel connectors: the table, in order"
run desk-webhook channel add x --connector custom --operator-id 5
rc 78 "an option the connector does not take: exit 78"
like $ERR 'operator-id: not a setting of a custom channel' "and names it"
test ! -e $DESK_STORE/channels/x.json; ok $? "and nothing is saved"
run desk-webhook channel add x --operator-id abc
rc 64 "--operator-id not digits: exit 64"
run desk-webhook channel add x --token abc
rc 64 "no secret on the command line: --token is no option (exit 64)"
run desk-webhook channel add x --api-url ftp://h
rc 64 "--api-url not http(s): exit 64"

# --- secrets: from a file or stdin, 0600, never printed ---
run desk-webhook channel add c1 --connector chat2desk --type sync --api-url $API \
	--token-file $T/c2d-good --hook-url $HOOK/c1 --allow-private --operator-id 42 --service-messages
rc 0 "add a chat2desk channel"
json $OUT '[.connector,.api_url,.hook_url,.operator_id,.service_messages,.allow_private,.active,.token]' \
	"[\"chat2desk\",\"$API\",\"$HOOK/c1\",\"42\",true,true,false,true]" "with its settings; token: true"
is "$(stat -c %a $DESK_STORE/secrets/c1.token)" 600 "the token file is 0600"
is "$(cat $DESK_STORE/secrets/c1.token)" c2d-good "and holds the token"
runin c2d-good desk-webhook channel add c2 --connector chat2desk --api-url $API --token-file - \
	--hook-url $HOOK/c2 --allow-private
rc 0 "--token-file -: the token from stdin"
is "$(cat $DESK_STORE/secrets/c2.token)" c2d-good "stored"
run desk-webhook channel add c0 --connector chat2desk
json $OUT '.api_url' '"https://api.chat2desk.com/v1"' "chat2desk's api_url defaults to Chat2Desk's"
run desk-webhook channel show c1
json $OUT '[.token,.secret,.signkey]' '[true,false,false]' "show says which secrets are set"
run desk-webhook channel list
rc 0 "list: exit 0"
json $OUT '[.name,.channel_id,.title,.channel_type,.webhook_url,.active]' '["app","app","app","async",null,false]
["c0","c0","c0","async",null,false]
["c1","c1","c1","sync",null,false]
["c2","c2","c2","async",null,false]' "list: the API's custom channel fields, by name"

# --- Chat2Desk: Create & Activate ---
run desk-webhook channel activate c1
rc 0 "activate c1: every check passes, exit 0"
json $OUT '.active' 'true' "c1 is active"
requests 'select(.path == "/v1/companies/api_info") | [.method,.authorization]' > $T/q
is "$(cat $T/q)" '["GET","c2d-good"]' "the API was asked with the raw token (no Bearer)"
requests 'select(.path == "/v1/webhooks" and .method == "POST") | [.method,.authorization,.content_type,.body]' > $T/q
is "$(cat $T/q)" "[\"POST\",\"c2d-good\",\"application/json\",{\"url\":\"$HOOK/c1\",\"name\":\"desk c1\",\"events\":[\"inbox\"]}]" \
	"the webhook registered: POST /webhooks with the hook URL, the name and the inbox event"

: > $T/log
run desk-webhook channel activate c2
rc 78 "activate c2 with c1's token: exit 78"
is "$(cat $ERR)" "desk-webhook: channel c2: token: the token of active chat2desk channel c1 (a token serves one channel)" \
	"one line: the channel, the check, the reason"
json $OUT '.active' 'false' "c2 stays saved and inactive"
is "$(requests 'select(.path == "/v1/webhooks")' | wc -l)" 0 "and no webhook was looked up or registered for it"

run desk-webhook channel add c3 --connector chat2desk --api-url $API --token-file $T/c2d-bad \
	--hook-url $HOOK/c3 --allow-private --activate
rc 78 "add --activate with a token Chat2Desk refuses (401): exit 78"
like $ERR '^desk-webhook: channel c3: token: Chat2Desk refused the token \(401: Unauthorized\)$' "says so"
run desk-webhook channel show c3
json $OUT '.active' 'false' "c3 is saved, inactive"

run desk-webhook channel add c4 --connector chat2desk --api-url http://127.0.0.1:$DEAD/v1 \
	--token-file $T/c2d-bad --hook-url $HOOK/c4 --allow-private --activate
rc 69 "the API unreachable: exit 69"
like $ERR '^desk-webhook: channel c4: api_url: GET http://127.0.0.1:[0-9]+/v1/companies/api_info: .*onnect' "names the check and the address"
run desk-webhook channel add c5 --connector chat2desk --api-url $API --token-file $T/c2d-broken \
	--hook-url $HOOK/c5 --allow-private --activate
rc 69 "the API answers 500: exit 69"
like $ERR 'channel c5: api_url: .*answered 500' "says so"
run desk-webhook channel add c6 --connector chat2desk --api-url $API --token-file $T/c2d-good \
	--allow-private --activate
rc 78 "no --hook-url and a duplicate token: exit 78"
is "$(grep -c '^desk-webhook: channel c6: ' $ERR)" 2 "every failed check printed, one line each"
like $ERR 'channel c6: token: the token of active chat2desk channel c1' "the token"
like $ERR 'channel c6: webhook: no --hook-url' "the webhook"
run desk-webhook channel add c7 --connector chat2desk --api-url $API --token-file $T/c2d-bad \
	--hook-url $HOOK/c7 --activate
rc 78 "an API on 127.0.0.1 without --allow-private: exit 78"
like $ERR 'channel c7: api_url: .*refused: 127\.0\.0\.1 is loopback' "refused at connect time"
run desk-webhook channel add c8 --connector chat2desk --api-url http://127.0.0.1:$PORT/redirect/v1 \
	--token-file $T/c2d-bad --hook-url $HOOK/c8 --allow-private --activate
rc 78 "an API that redirects: exit 78, the redirect not followed"
like $ERR 'channel c8: api_url: .*answered 302, a redirect' "says so"

# --- Apply: set on an active channel applies nothing that fails ---
cp $DESK_STORE/channels/c1.json $T/c1.before
: > $T/log
run desk-webhook channel set c1 --api-url http://127.0.0.1:$DEAD/v1
rc 69 "set c1 to an unreachable API: exit 69"
cmp -s $T/c1.before $DESK_STORE/channels/c1.json; ok $? "nothing applied: the channel file is as it was"
run desk-webhook channel set c1 --token-file $T/c2d-bad
rc 78 "set c1 to a token Chat2Desk refuses: exit 78"
is "$(cat $DESK_STORE/secrets/c1.token)" c2d-good "the token is as it was"
cmp -s $T/c1.before $DESK_STORE/channels/c1.json; ok $? "and so is the channel"
: > $T/log
run desk-webhook channel set c1 --operator-id 77 --type async
rc 0 "set c1 to settings that pass: exit 0"
json $OUT '[.operator_id,.type,.active]' '["77","async",true]' "applied, still active"
is "$(requests 'select(.path != "/v1/webhooks" or .method == "GET") | [.method,.path]' | tr '\n' ' ')" \
	'["GET","/v1/companies/api_info"] ["GET","/v1/webhooks"] ' "the checks ran again, and found the webhook registered"
is "$(requests 'select(.method == "POST")' | wc -l)" 0 "so it was not registered twice"
run desk-webhook channel set c1 --connector blip
rc 64 "set --connector: exit 64"
# Save on an inactive channel applies; Save & Activate activates if it can.
run desk-webhook channel set c3 --hook-url $HOOK/c3b
rc 0 "set on an inactive channel: no checks, exit 0"
json $OUT '[.hook_url,.active]' "[\"$HOOK/c3b\",false]" "applied, still inactive"

# --- deactivate; the token is free again ---
run desk-webhook channel deactivate c1
rc 0 "deactivate: exit 0"
json $OUT '.active' 'false' "c1 is inactive"
run desk-webhook channel set c2 --activate
rc 0 "set c2 --activate now that c1 is inactive: exit 0"
json $OUT '.active' 'true' "c2 is active"
run desk-webhook channel activate c1
rc 78 "and c1 cannot take the token back"

# --- Blip: the API URL set and answers ---
run desk-webhook channel add b1 --connector blip --activate
rc 78 "blip without --api-url: exit 78"
like $ERR '^desk-webhook: channel b1: api_url: no --api-url' "says so"
run desk-webhook channel set b1 --api-url http://127.0.0.1:$PORT --token-file $T/blip-good --allow-private --activate
rc 0 "blip with an API that answers: exit 0"
json $OUT '.active' 'true' "active"
requests 'select(.path == "/commands") | [.authorization,.body.method,.body.uri,.body.to]' > $T/q
is "$(cat $T/q)" '["Key blip-good","get","/ping","postmaster@msging.net"]' "asked with a ping command and the bot's key"
run desk-webhook channel add b2 --connector blip --api-url http://127.0.0.1:$PORT --token-file $T/blip-bad --allow-private --activate
rc 78 "a key Blip refuses: exit 78"
like $ERR 'channel b2: token: Blip refused the key \(401\)' "says so"
run desk-webhook channel add b3 --connector blip --api-url http://127.0.0.1:$DEAD --allow-private --activate
rc 69 "Blip unreachable: exit 69"

# --- custom: the webhook URL passes the SSRF rule ---
for url in http://127.0.0.1:9/hook http://0x7f.1/hook 'http://[::ffff:127.0.0.1]/hook' \
    http://169.254.169.254/latest http://10.1.2.3/ 'http://[::1]:8/'; do
	desk-webhook channel rm u > /dev/null 2>&1
	run desk-webhook channel add u --url "$url" --activate
	rc 78 "custom webhook URL $url: exit 78"
done
like $ERR 'channel u: webhook_url: http://\[::1\]:8/: refused: ::1 is loopback \(--allow-private allows it\)' "says why"
run desk-webhook channel add app2 --type sync --url http://127.0.0.1:9/hook --allow-private --activate
rc 0 "with --allow-private: exit 0"
json $OUT '[.active,.webhook_url]' '[true,"http://127.0.0.1:9/hook"]' "active, its webhook_url the API's field"
run desk-webhook channel activate app
rc 0 "a custom channel without a URL activates"

# --- channel secret, keygen ---
run desk-webhook channel secret app
rc 0 "channel secret: exit 0"
sec=$(jq -r .secret $OUT)
case $sec in whsec_*) ok 0 "a whsec_ secret";; *) ok 1 "a whsec_ secret ($sec)";; esac
is "$(printf %s "${sec#whsec_}" | base64 -d | wc -c)" 32 "of 32 random bytes"
is "$(cat $DESK_STORE/secrets/app.secret)" "$sec" "stored"
is "$(stat -c %a $DESK_STORE/secrets/app.secret)" 600 "0600"
run desk-webhook channel secret app
isnt "$(jq -r .secret $OUT)" "$sec" "a second secret replaces the first"
sec2=$(jq -r .secret $OUT)
run desk-webhook channel secret c1
rc 78 "channel secret on a chat2desk channel: exit 78"
run desk-webhook channel keygen app
rc 0 "channel keygen: exit 0"
pk=$(jq -r .public_key $OUT)
sk=$(cat $DESK_STORE/secrets/app.signkey)
is "$(printf %s "${pk#whpk_}" | base64 -d | wc -c)" 32 "prints a whpk_ public key of 32 bytes"
is "$(printf %s "${sk#whsk_}" | base64 -d | wc -c)" 64 "stores a whsk_ secret key of 64 bytes"
is "$(printf %s "${sk#whsk_}" | base64 -d | tail -c 32 | base64)" "${pk#whpk_}" "of that public key"
echo "whsec_$(head -c 24 /dev/urandom | base64)" > $T/whsec
run desk-webhook channel set app2 --secret-file $T/whsec
rc 0 "--secret-file with a whsec_ secret"
is "$(cat $DESK_STORE/secrets/app2.secret)" "$(cat $T/whsec)" "stored as given"
echo "not-a-secret" > $T/bad-whsec
run desk-webhook channel set app2 --secret-file $T/bad-whsec
rc 78 "--secret-file with something else: exit 78"

# --- never printed, never in channels/ ---
run desk-webhook channel list
run desk-webhook channel show app
for s in c2d-good c2d-bad blip-good "$sec" "$sec2" "$sk" "${sk#whsk_}"; do
	grep -rqF -- "$s" $DESK_STORE/channels; is $? 1 "no secret in channels/ ($(printf %.6s "$s")...)"
done
for s in c2d-good c2d-bad blip-good "$sk"; do
	grep -qF -- "$s" $ALL; is $? 1 "no token or key in any output ($(printf %.6s "$s")...)"
done
is "$(grep -cF -- "$sec2" $ALL)" 1 "a whsec_ secret printed once, by channel secret"

# --- rm; desk-case takes any configured channel; existing stores ---
run desk-webhook channel rm c2
rc 0 "rm: exit 0"
test ! -e $DESK_STORE/secrets/c2.token; ok $? "rm removes the channel's secrets"
runin '{"channel":"c3","user_custom_id":"u1","content":"hi"}' desk-case
rc 0 "desk-case takes a message on an inactive channel"
printf '{"name":"old","connector":"custom","type":"async","url":null,"active":true}\n' > $DESK_STORE/channels/old.json
run desk-webhook channel show old
json $OUT '[.active,.webhook_url]' '[true,null]' "a channel of an older store keeps its active"

done_testing
