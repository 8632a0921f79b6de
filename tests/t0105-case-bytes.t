#!/bin/sh
# desk-case's output and log, byte for byte, on a corpus of tricky input
# (duplicate keys, escapes, big numbers, nesting, fields desk-case owns
# already present, white space, API names, codes), and desk-reply's on a
# few kinds of reply: the expected files were made by the build before
# desk-case learnt to print an event from its own bytes and desk-reply to
# print message.out straight from the record (issue 12), so neither
# shortcut may change one byte of output or log.
. "$(dirname "$0")/lib.sh"

D=$TOP/tests/data/case-bytes
# same GOT WANT DESC: the same bytes; else the first lines that differ
same() {
	if cmp -s "$1" "$2"; then pass "$3"; else
		diff "$2" "$1" | head -20 | sed 's/^/# /'
		fail "$3"
	fi
}
# log: the store's log, all segments in order
log() { cat "$DESK_STORE"/log/*.jsonl > $T/log; }
with_channel app sync

run desk-case "$D/in.jsonl"
rc 65 "the corpus: exit 65 (it holds rejects)"
same $OUT "$D/out.jsonl" "stdout: the bytes desk-case printed before"
log; same $T/log "$D/log.jsonl" "the log: the bytes stored before"
is "$(grep -c '"type":"error"' $ERR)" "$(cat "$D/errors")" "the same records rejected"

# The same stream again: duplicates, each printed as the first time.
run desk-case "$D/in.jsonl"
same $OUT "$D/replay.jsonl" "replay: the bytes desk-case printed before"
log; same $T/log "$D/log-replay.jsonl" "replay: the log as before"
run desk-case fsck
rc 0 "fsck: the store is sound"

# desk-reply: ids, a replay, attachments, api and rule replies, a number
# written 1.0, no such case, another type, a reopened case.
DESK_STORE=$T/store2
with_channel app sync
for i in 1 2 3 4 5; do
	printf '{"channel":"app","user_custom_id":"c%d","content":"help","email":"c%d@example.org"}\n' $i $i
done > $T/msgs
desk-case $T/msgs > /dev/null
desk-case set 5 --status closed > /dev/null
run desk-reply "$D/reply-in.jsonl"
rc 65 "replies: exit 65 (one for no case)"
same $OUT "$D/reply-out.jsonl" "replies: the bytes desk-reply printed before"
log; same $T/log "$D/reply-log.jsonl" "replies: the log as before"

done_testing
