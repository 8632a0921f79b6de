#!/bin/sh
# What every tool shares: -h, -V, usage errors, the store option, output errors.
. "$(dirname "$0")/lib.sh"

for tool in $(ls $DESK_BIN); do
	run $tool -h
	rc 0 "$tool -h: exit 0"
	like $OUT "^usage: $tool" "$tool -h: usage on stdout"
	like $OUT "^See $tool\(1\)" "$tool -h: and where the manual is"
	is "$(wc -c < $ERR | tr -d ' ')" 0 "$tool -h: nothing on stderr"
	run $tool --help
	rc 0 "$tool --help: exit 0"
	run $tool -V
	rc 0 "$tool -V: exit 0"
	like $OUT "^$tool \(desk\) [0-9]+\.[0-9]+\.[0-9]+$" "$tool -V: name and version"
	run $tool --no-such-option
	rc 64 "$tool: an unknown option: exit 64"
	like $ERR "^$tool: --no-such-option: unknown option" "$tool: names the option"
	is "$(sed -n 2p $ERR)" "Try '$tool --help'." "$tool: where the help is, on stderr"
	is "$(lines $ERR)" 2 "$tool: two lines, not the whole usage"
	is "$(wc -c < $OUT | tr -d ' ')" 0 "$tool: nothing on stdout"
done

run desk-case list -s
rc 64 "-s without its argument: exit 64"
like $ERR "missing argument" "and says so"
run desk-case -x
rc 64 "an unknown short option: exit 64"
like $ERR "^desk-case: -x: unknown option" "names it"

# stdout that cannot be written: 74, for subcommands too
with_channel app
desk-webhook channel list > /dev/full 2> $ERR; RC=$?
rc 74 "desk-webhook channel list > /dev/full: exit 74"
desk-case -V > /dev/full 2> $ERR; RC=$?
rc 74 "desk-case -V > /dev/full: exit 74"
desk-case -h > /dev/full 2> $ERR; RC=$?
rc 74 "desk-case -h > /dev/full: exit 74"

# the channel registry
run desk-webhook channel add app
rc 65 "adding a channel twice: exit 65"
like $ERR "channel app already exists" "and says so"
run desk-webhook channel add 'bad/name'
rc 64 "a channel name with a slash: exit 64"
run desk-webhook channel add ../x
rc 64 "a channel name with ..: exit 64"
run desk-webhook channel add chat --type sync --connector custom --url https://example.org/hook
rc 0 "channel add with options: exit 0"
json $OUT '[.name,.connector,.type,.url,.active]' '["chat","custom","sync","https://example.org/hook",false]' \
	"channel add prints the channel, saved inactive (issue 9: add --activate activates)"
run desk-webhook channel add off --inactive
json $OUT '.active' 'false' "--inactive"
run desk-webhook channel add x --url ftp://example.org
rc 64 "a non-http URL: exit 64"
run desk-webhook channel add x --type fast
rc 64 "a bad type: exit 64"
run desk-webhook channel list
is "$(jq -r .name $OUT | tr '\n' ' ')" "app chat off " "channel list, by name"
run desk-webhook channel show chat
json $OUT '.type' '"sync"' "channel show"
run desk-webhook channel show nope
rc 78 "channel show of an unknown channel: exit 78, as everywhere"
run desk-webhook channel rm off
rc 0 "channel rm: exit 0"
run desk-webhook channel show off
rc 78 "and it is gone"
run desk-webhook channel rm off
rc 78 "channel rm of an unknown channel: exit 78, as everywhere"
run desk-webhook channel frobnicate
rc 64 "an unknown channel command: exit 64"
run desk-webhook nothing
rc 64 "an unknown command: exit 64"

done_testing
