#!/bin/sh
# desk-case's output and log, byte for byte, on a corpus of tricky input
# (duplicate keys, escapes, big numbers, nesting, fields desk-case owns
# already present, white space, API names, codes): the expected files were
# made by the build before desk-case learnt to print an event from its own
# bytes (issue 12), so that shortcut must not change one byte of either.
. "$(dirname "$0")/lib.sh"

D=$TOP/tests/data/case-bytes
with_channel app sync

run desk-case "$D/in.jsonl"
rc 65 "the corpus: exit 65 (it holds rejects)"
cmp -s $OUT "$D/out.jsonl"; ok $? "stdout: the bytes desk-case printed before"
[ $? -eq 0 ] || diff "$D/out.jsonl" $OUT | head -20 | sed 's/^/# /'
cat "$DESK_STORE"/log/*.jsonl > $T/log
cmp -s $T/log "$D/log.jsonl"; ok $? "the log: the bytes stored before"
[ $? -eq 0 ] || diff "$D/log.jsonl" $T/log | head -20 | sed 's/^/# /'
is "$(grep -c '"type":"error"' $ERR)" "$(cat "$D/errors")" "the same records rejected"

# The same stream again: duplicates, each printed as the first time.
run desk-case "$D/in.jsonl"
cmp -s $OUT "$D/replay.jsonl"; ok $? "replay: the bytes desk-case printed before"
[ $? -eq 0 ] || diff "$D/replay.jsonl" $OUT | head -20 | sed 's/^/# /'
cat "$DESK_STORE"/log/*.jsonl > $T/log
cmp -s $T/log "$D/log-replay.jsonl"; ok $? "replay: the log as before"
run desk-case fsck
rc 0 "fsck: the store is sound"

done_testing
