#!/bin/sh
# A new case is one record: a message that opens a case with its
# conversation's external ids (a Chat2Desk dialog, a Blip ticket) writes
# the case once, the ids in it, not once without them and again with them
# (issue 12); later messages write it again only when their ids are news.
. "$(dirname "$0")/lib.sh"

with_channel app
cases() { grep -c '^{"rec":"case"' "$DESK_STORE"/log/*.jsonl; }
inmsg() { printf '{"channel":"app","user_custom_id":"u1","content":"hi"%s}\n' "${1:+,$1}" > $T/m; desk-case $T/m > /dev/null; }

inmsg '"external":{"dialog_id":"d-1","client_id":"c-1"}'
is "$(cases)" 1 "a new case with external ids: one case record"
json "$DESK_STORE/log/00000001.jsonl" 'select(.rec == "case") | [.case_id, .status, .external]' \
	'[1,"open",{"client_id":"c-1","dialog_id":"d-1"}]' "that record has the ids"
is "$(grep '^{"rec":"case"' "$DESK_STORE"/log/*.jsonl | jq -r 'keys_unsorted | .[-1]')" external \
	"the ids last, where recording them on the case put them"
json "$DESK_STORE/log/00000001.jsonl" 'select(.rec == "message") | .case_id' 1 "the message is the case's"

inmsg '"external":{"client_id":"c-1"}'
is "$(cases)" 1 "ids the case has already: no new version"
inmsg '"external":{"dialog_id":"d-2"}'
is "$(cases)" 2 "an id that is news: a new version"
desk-case show 1 > $T/show
json $T/show '.external' '{"client_id":"c-1","dialog_id":"d-2"}' "the ids merged, the latest winning"
inmsg '"external":{}'
inmsg
is "$(cases)" 2 "no ids, or none: nothing written"
run desk-case fsck
rc 0 "fsck: the store is sound"

# A second user's new case without ids: no external member at all.
printf '{"channel":"app","user_custom_id":"u2","content":"hi","external":{}}\n' | desk-case > /dev/null
json "$DESK_STORE/log/00000001.jsonl" 'select(.rec == "case" and .case_id == 2) | has("external")' false \
	"an empty external: the new case has none"
done_testing
