#!/bin/sh
# desk-webhook serve: every HTTP status it answers, Standard Webhooks
# signatures checked before the body is read, repeats answered 200 and
# emitted once, the events on stdout after a clean stop, a restart that
# emits nothing twice, and requests that must not take the server down.
. "$(dirname "$0")/lib.sh"

command -v curl > /dev/null; ok $? "curl is there to talk HTTP with"

# post PATH [CURL-ARG...]: the status in $CODE, the answer in $T/body.
post() {
	p_path=$1
	shift
	CODE=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 10 "$@" \
		"http://127.0.0.1:$PORT$p_path")
}
# hooks CHANNEL: how many deliveries to CHANNEL the store has.
hooks() { cat "$DESK_STORE"/log/*.jsonl | grep '"rec":"hook"' | grep -c "\"channel\":\"$1\""; }

# A Standard Webhooks v1 signature of ID.TS.BODY with a whsec_ secret.
sign() { # sign SECRET ID TS BODY
	python3 -c 'import base64, hashlib, hmac, sys
k = base64.b64decode(sys.argv[1][6:])
m = ("%s.%s.%s" % (sys.argv[2], sys.argv[3], sys.argv[4])).encode()
print("v1," + base64.b64encode(hmac.new(k, m, hashlib.sha256).digest()).decode())' "$@"
}

active_channel shop
desk-webhook channel add off2 --inactive > /dev/null
active_channel signed
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
(umask 077 && printf '%s\n' "$SECRET" > "$DESK_STORE/secrets/signed.secret")
NOW=$(date -u -d "$DESK_NOW" +%s)

serve_start a
test -n "$PORT"; ok $? "serve wrote the port it bound to --port-file"
like "$T/a.err" "listening on 127\.0\.0\.1:0 \(port $PORT\)" "and says it on stderr"

# ---- the statuses ----
post /hooks/nosuch -d '{}'
is "$CODE" 404 "an unknown channel is 404"
post /hooks/off2 -d '{"case":{"user_custom_id":"u1","content":"x"}}'
is "$CODE" 404 "an inactive channel is 404"
post /elsewhere -d '{}'
is "$CODE" 404 "a path that is no endpoint is 404"
post /hooks/../etc -d '{}' --path-as-is
is "$CODE" 404 "a path that is no channel name is 404"
post /hooks/shop
is "$CODE" 405 "GET of a hook is 405"
post /healthz -d ''
is "$CODE" 405 "POST to /healthz is 405"
printf '{"case":{"user_custom_id":"big","content":"%s"}}' "$(head -c 3000 /dev/zero | tr '\0' x)" > "$T/big"
post /hooks/shop --data-binary @"$T/big"
is "$CODE" 200 "3 kB pass the default limit of 1 MiB"
serve_stop
is "$SRC" 0 "SIGTERM: exit 0"

serve_start b --max-body 1000
post /hooks/shop --data-binary @"$T/big"
is "$CODE" 413 "a body over --max-body is 413, by its Content-Length"
post /hooks/shop --data-binary @"$T/big" -H 'Transfer-Encoding: chunked'
is "$CODE" 413 "and 413 when it is chunked, with no length to go by"
post /hooks/shop -d 'not json at all'
is "$CODE" 400 "a body the normaliser cannot use is 400"
json "$T/body" '.error | startswith("not JSON")' true "the answer says why"
post /hooks/shop -d '{"case":{"content":"no user"}}'
is "$CODE" 400 "a message without user_custom_id is 400"
json "$T/body" '[.field, .error]' '["case.user_custom_id","missing"]' "with the field and the reason"
raw=$(grep -l 'no user' "$DESK_STORE"/rejects/*.raw)
is "$(cat "$raw")" '{"case":{"content":"no user"}}' "the refused body is quarantined in rejects/ as it came"
json "${raw%.raw}.json" '[.field, .reason, .channel]' '["case.user_custom_id","missing","shop"]' \
	"beside the reason, field and channel"
like "$T/b.err" '/hooks/shop: 400: case.user_custom_id: missing \(rejects/' "and stderr names the reject"

# ---- authentication before parsing ----
B='{"case":{"user_custom_id":"u7","content":"signed hello"}}'
post /hooks/signed -d "$B" -H "webhook-id: msg_a" -H "webhook-timestamp: $NOW" \
	-H "webhook-signature: v1,AAAA$(sign $SECRET msg_a $NOW "$B" | cut -c8-)"
is "$CODE" 401 "a bad signature is 401"
post /hooks/signed -d 'not even json' -H "webhook-id: msg_a" -H "webhook-timestamp: $NOW"
is "$CODE" 401 "an unsigned body is 401 before it is parsed (not 400)"
old=$((NOW - 301))
post /hooks/signed -d "$B" -H "webhook-id: msg_a" -H "webhook-timestamp: $old" \
	-H "webhook-signature: $(sign $SECRET msg_a $old "$B")"
is "$CODE" 401 "a signature 301 s old is 401"
is "$(hooks signed)" 0 "nothing of a refused request is stored"
post /hooks/signed -d "$B" -H "webhook-id: msg_a" -H "webhook-timestamp: $NOW" \
	-H "webhook-signature: $(sign $SECRET msg_a $NOW "$B")"
is "$CODE" 200 "a good signature is 200"
json "$T/body" '[.status, .delivery]' '["accepted","msg_a"]' "accepted, with its delivery id"
is "$(hooks signed)" 1 "and stored before the answer"

# ---- repeats ----
post /hooks/signed -d "$B" -H "webhook-id: msg_a" -H "webhook-timestamp: $NOW" \
	-H "webhook-signature: $(sign $SECRET msg_a $NOW "$B")"
is "$CODE" 200 "the same delivery again is 200"
json "$T/body" .status '"duplicate"' "and a duplicate"
post /hooks/shop -d '{"id":"m-1","user_custom_id":"u8","content":"one"}'
is "$CODE" 200 "a flat event with its own id is accepted"
post /hooks/shop -d '{"id":"m-1","user_custom_id":"u8","content":"one"}' -H 'webhook-id: other'
json "$T/body" .status '"duplicate"' "the same channel message id under another webhook-id is a duplicate"
post /hooks/shop -d '{"id":"m-5","user_custom_id":"u8","content":"five"}' -H 'webhook-id: w-5'
post /hooks/shop -d '{"id":"m-6","user_custom_id":"u8","content":"six"}' -H 'webhook-id: w-5'
json "$T/body" .status '"duplicate"' "a webhook-id accepted before is a duplicate, whatever the body says"
post /hooks/signed -d '{"id":"m-1","user_custom_id":"u8","content":"one"}'
is "$CODE" 401 "(the signed channel wants signatures)"

# ---- channels are read again while serving ----
post /hooks/late -d '{"case":{"user_custom_id":"u9","content":"early"}}'
is "$CODE" 404 "a channel that does not exist yet is 404"
active_channel late
# Read again about once a second: asked until it answers, a loaded machine
# allowed a minute (a 404 stores nothing).
late() {
	post /hooks/late -d '{"case":{"user_custom_id":"u9","content":"late"}}' -H 'webhook-id: late-1'
	[ "$CODE" != 404 ]
}
eventually 60 late
is "$CODE" 200 "once added, serve takes it while it runs"

# ---- /healthz ----
post /healthz
is "$CODE" 200 "GET /healthz is 200"
json "$T/body" '[.accepted, .duplicates, .rejected["400"], .rejected["401"], .rejected["413"]]' \
	'[4,3,2,4,2]' "with the counters"
json "$T/body" '[(.emitted|type), (.syncs > 0), (.skipped|keys)]' \
	'["number",true,["echo","operator","other"]]' "emitted, syncs and the skips by reason"

# ---- no request takes it down ----
python3 - "$PORT" <<'EOF'
import socket, sys
junk = [b"GARBAGE\r\n\r\n", b"POST /hooks/shop HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        b"POST /hooks/shop HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 100000 + b"\r\n\r\n",
        b"\x00\xff" * 1000, b"POST /hooks/shop HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"]
for j in junk:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    try:
        s.sendall(j)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(5)
        s.recv(100)
    except OSError:
        pass
    s.close()
EOF
post /healthz
is "$CODE" 200 "malformed requests, a huge header and a cut body leave it serving"
serve_stop
is "$SRC" 0 "SIGTERM: exit 0"
q '.id' "$T/b.out" > /dev/null
is "$(cat "$T/q" | tr '\n' ' ')" '"msg_a" "m-1" "m-5" "late-1" ' "each accepted event came out once, in arrival order"
json "$T/b.out" 'select(.id == "msg_a") | [.channel, .user_custom_id, .content]' \
	'["signed","u7","signed hello"]' "the signed message as the normaliser made it"

serve_start c
post /healthz
serve_stop
is "$(lines "$T/c.out")" 0 "a restart emits nothing that was emitted before"
desk-case fsck > /dev/null 2>&1; ok $? "desk-case fsck finds the hook records and their keys whole"

# ---- slow clients, the connection limit ----
serve_start d --timeout 1
python3 - "$PORT" > "$T/slow" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /hooks/shop HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab")
t0 = time.monotonic()
s.settimeout(10)
try:
    while s.recv(100):
        pass
except OSError:
    pass
print("closed" if time.monotonic() - t0 < 5 else "open")
EOF
is "$(cat "$T/slow")" closed "a client that stalls mid-body is cut off after --timeout"
serve_stop
serve_start e --max-connections 2
python3 - "$PORT" > "$T/limit" <<'EOF'
import socket, sys, subprocess
held = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(2)]
r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "3",
                    "http://127.0.0.1:%s/healthz" % sys.argv[1]], capture_output=True, text=True)
print("third:" + r.stdout)
for s in held:
    s.close()
EOF
is "$(cat "$T/limit")" "third:000" "past --max-connections a connection is not served"
post /healthz
is "$CODE" 200 "and once they are gone it is"
serve_stop
is "$SRC" 0 "exit 0"

# ---- the store fails while serving ----
# Another writer holds the lock past DESK_LOCK_TIMEOUT: 503, and serve
# goes on once the lock is free.
DESK_LOCK_TIMEOUT=1 serve_start locked
hold "$DESK_STORE/lock"
post /hooks/shop -d '{"case":{"user_custom_id":"l","content":"locked out"}}' -H 'webhook-id: locked-1' -D "$T/hdrs"
is "$CODE" 503 "a store that cannot take the request is 503"
like "$T/hdrs" '^Retry-After: 5' "with Retry-After"
like "$T/locked.err" 'locked by another writer.*answered 503 until' "and stderr says why"
release
post /hooks/shop -d '{"case":{"user_custom_id":"l","content":"locked out"}}' -H 'webhook-id: locked-1'
is "$CODE" 200 "the same request once the lock is free: 200"
serve_stop
is "$SRC" 0 "serve lived through it, exit 0"
is "$(jq -r .id "$T/locked.out")" locked-1 "and the event came out once"

# ---- a downstream that goes away ----
mkfifo "$T/gone.pipe"
head -n 1 < "$T/gone.pipe" > "$T/gone.head" &
HPID=$!
SERVE_OUT=$T/gone.pipe serve_start gone
SERVE_OUT=
post /hooks/shop -d '{"case":{"user_custom_id":"g","content":"one"}}' -H 'webhook-id: gone-1'
wait $HPID
post /hooks/shop -d '{"case":{"user_custom_id":"g","content":"two"}}' -H 'webhook-id: gone-2'
is "$CODE" 200 "a request after the reader went away is still accepted"
wait_for $SPID 10
is "$WRC" 74 "then serve stops, exit 74, when stdout is gone"
like "$T/gone.err" 'stdout: Broken pipe; the deliveries not written out stay in the store' "saying so"
serve_start again
serve_stop
is "$(jq -r .id "$T/again.out")" gone-2 "the next start writes out what the reader never got"

run desk-webhook serve --listen nowhere
rc 64 "--listen without a port is a usage error"
run desk-webhook serve --listen 127.0.0.1:0 --max-body 0
rc 64 "--max-body 0 is a usage error"

done_testing
