# tests/send-lib.sh: what the desk-webhook send tests share; source it after
# lib.sh. The receivers are tests/stub-receiver.py, on 127.0.0.1.
#
#   stub NAME [ARGS...]      starts a receiver; sets $PORT; its log is $T/NAME.log
#                            (one JSON line per request), its connections
#                            $T/NAME.log.conns
#   chan NAME CONNECTOR URL  an active channel that may reach 127.0.0.1
#                            (allow_private); URL is its url or api_url
#   chan_set NAME JQ         edits channels/NAME.json with a jq filter
#   secret NAME KIND VALUE   writes secrets/NAME.KIND (0600)
#   users N CHANNEL          N users, each with a case, on CHANNEL
#   newcase CHANNEL          a new user's case on CHANNEL; prints its id
#   reply CASE TEXT          a reply; prints its out_id, its message.out
#                            goes to $T/outs
STUBS=
stop_stubs() { for p in $STUBS; do kill "$p" 2> /dev/null; done; rm -rf "$T"; }
trap stop_stubs EXIT
stub() {
	s_name=$1
	shift
	rm -f "$T/$s_name.port"
	python3 "$TOP/tests/stub-receiver.py" "$T/$s_name.port" "$T/$s_name.log" "$@" &
	STUBS="$STUBS $!"
	eventually 60 test -s "$T/$s_name.port"
	PORT=$(cat "$T/$s_name.port")
	touch "$T/$s_name.log" "$T/$s_name.log.conns"
}
chan_set() {
	jq -c "$2" "$DESK_STORE/channels/$1.json" > "$T/chan.tmp" &&
		cat "$T/chan.tmp" > "$DESK_STORE/channels/$1.json"
}
chan() {
	c_url=--url
	[ "$2" = custom ] || c_url=--api-url
	desk-webhook channel add "$1" --connector "$2" $c_url "$3" --allow-private > /dev/null
	# Active without activation's checks (they would talk to the stub).
	chan_set "$1" '.active = true'
}
secret() {
	(umask 077 && printf '%s\n' "$3" > "$DESK_STORE/secrets/$1.$2")
}
users() {
	awk -v n="$1" -v c="$2" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"channel\":\"%s\",\"user_custom_id\":\"u%d\",\"content\":\"hi\"}\n", c, i }' |
		desk-case > /dev/null
}
U_N=1000
newcase() {
	U_N=$((U_N + 1))
	printf '{"channel":"%s","user_custom_id":"n%d","content":"hi"}\n' "$1" $U_N | desk-case | jq -r .case_id
}
: > "$T/outs"
reply() {
	printf '{"type":"reply","case_id":%s,"content":"%s"}\n' "$1" "$2" | desk-reply | tee -a "$T/outs" | jq -r .out_id
}
# The Unix seconds of $DESK_NOW.
now_s() { date -u -d "$DESK_NOW" +%s; }
