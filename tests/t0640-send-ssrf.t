#!/bin/sh
# The SSRF guard of desk-webhook send: the address is checked when curl
# connects, whatever the URL's spelling, so a channel without allow_private
# reaches no loopback, private or mapped address; the receiver on 127.0.0.1
# sees no connection at all. With allow_private the same URLs get through.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/send-lib.sh"

stub lo
for host in 127.0.0.1 0x7f.1 2130706433 0177.0.0.1 127.1 '[::ffff:127.0.0.1]' '[::ffff:7f00:1]' localhost; do
	: > $T/lo.log.conns
	name=c$(printf '%s' "$host" | tr -c 'A-Za-z0-9' _)
	desk-webhook channel add $name --url "http://$host:$PORT/x" > /dev/null
	# Active without activation's checks, as if the address changed since.
	chan_set $name '.active = true'
	c=$(newcase $name)
	o=$(reply $c "to $host")
	run desk-webhook send --drain
	jq -c 'select(.out_id == '$o') | [.status, .http_status]' $OUT > $T/d
	is "$(cat $T/d)" '["dead",null]' "$host: refused, dead at once"
	like $OUT 'refused: [^ ]* is (loopback|mapped)' "$host: the error names the address and why"
	is "$(lines $T/lo.log.conns)" 0 "$host: the loopback receiver saw no connection"
	# The same with allow_private: it gets through, so the test can fail.
	chan_set $name '.allow_private = true'
	desk-webhook dead retry $o > /dev/null
	run desk-webhook send --drain
	is "$(jq -c 'select(.out_id == '$o') | .status' $OUT)" '"delivered"' "$host with allow_private: delivered"
done
# Other refused ranges, with nothing listening: refused before any connect.
for host in 10.0.0.1 192.168.1.1 172.16.0.1 169.254.169.254 100.64.0.1 224.0.0.1 0.0.0.0 '[::1]' '[fe80::1]' '[fc00::1]'; do
	name=d$(printf '%s' "$host" | tr -c 'A-Za-z0-9' _)
	desk-webhook channel add $name --url "http://$host:9/x" > /dev/null
	chan_set $name '.active = true'
	c=$(newcase $name)
	o=$(reply $c "to $host")
	run desk-webhook send --drain
	jq -r 'select(.out_id == '$o') | "\(.status) \(.error)"' $OUT > $T/d
	like $T/d '^dead .*refused: ' "$host: refused"
done
# No proxy from the environment: the check sees the destination itself.
: > $T/lo.log.conns
desk-webhook channel add viaproxy --url "http://10.0.0.2:9/x" > /dev/null
chan_set viaproxy '.active = true'
c=$(newcase viaproxy)
o=$(reply $c "via a proxy?")
http_proxy=http://127.0.0.1:$PORT HTTP_PROXY=http://127.0.0.1:$PORT ALL_PROXY=http://127.0.0.1:$PORT \
	run desk-webhook send --drain
jq -r 'select(.out_id == '$o') | .status' $OUT > $T/d
is "$(cat $T/d)" dead "with http_proxy set: 10.0.0.2 is still refused"
is "$(lines $T/lo.log.conns)" 0 "and the proxy in the environment was not used"
run desk-case fsck
rc 0 "fsck is clean"

done_testing
