#!/bin/sh
# Keys kept near (desk-store(5), index/keys.hx): a new user's messages'
# event keys and last case go to the bucket of the user's user_custom_id
# key, so that a batch of them writes one index bucket, not one per
# message; a replay finds them all. An index of an older desk (version 1,
# every key at its home) is written as it was until fsck --repair rebuilds
# it as version 2.
. "$(dirname "$0")/lib.sh"

need_strace

with_channel app
# msgs FROM TO USERS PREFIX: messages FROM..TO of USERS users
msgs() {
	awk -v a=$1 -v b=$2 -v n=$3 -v p=$4 'BEGIN { for (i = a; i <= b; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"%s%d\",\"id\":\"%s-e%d\",\"content\":\"message %d about my order\"}\n", p, i % n, p, i, i }'
}
# Keys enough for a table of many buckets; none grows it below.
msgs 1 1000 200 u | desk-case > /dev/null
is "$(head -c 10 $DESK_STORE/index/keys.hx)" "desk hx 2" "a new store's index is version 2"
msgs 1 20 1 new > $T/one
strace -f -y -o $T/trace -e trace=pwrite64,fdatasync desk-case $T/one > $T/out 2> $T/err
is "$? $(lines $T/out)" "0 20" "20 messages of a new user"
# The buckets of keys.hx written (the header, at 0, apart).
sed -nE 's/^[0-9]+ +pwrite64\([0-9]+<[^>]*keys\.hx>, .*, ([0-9]+), ([0-9]+)\) += [0-9]+$/\2 \1/p' $T/trace |
	awk '$1 >= 4096 { for (b = int($1 / 4096); b <= int(($1 + $2 - 1) / 4096); b++) print b }' | sort -u > $T/buckets
# Their user_custom_id, last case and 20 event keys in one; the channel's
# newest case (where its chain of cases starts) in its own.
is "$(lines $T/buckets)" 2 "their user_custom_id, last case and 20 event keys: one bucket written, and the channel's"
desk-case $T/one > $T/again
is "$(grep -c '"duplicate":true' $T/again)" 20 "a replay: all 20 found"
msgs 1 1000 200 u | desk-case | grep -c '"duplicate":true' > $T/n
is "$(cat $T/n)" 1000 "... and the first 1000"
run desk-case fsck
is "$RC" 0 "fsck: the index is what the log derives"

# An older desk's store: its index, made empty as that desk made it.
rm -rf $DESK_STORE
with_channel app
mkdir -p $DESK_STORE/index
python3 - $DESK_STORE/index/keys.hx <<'EOF'
import struct, sys
h = b"desk hx 1\n".ljust(16, b"\0") + struct.pack("<I", 16).ljust(8, b"\0") + struct.pack("<Q", 0)
open(sys.argv[1], "wb").write(h.ljust(4096 * 17, b"\0"))
EOF
msgs 1 300 50 u | desk-case > /dev/null
is "$(head -c 10 $DESK_STORE/index/keys.hx)" "desk hx 1" "an older index stays version 1"
od -An -tx1 -v -w32 -j 4096 $DESK_STORE/index/keys.hx | awk '$11 == "d5" && $12 == "6b"' > $T/near
is "$(lines $T/near)" 0 "... with no key kept near"
msgs 1 300 50 u | desk-case | grep -c '"duplicate":true' > $T/n
is "$(cat $T/n)" 300 "... and a replay finds every event"
run desk-case fsck
is "$RC" 0 "fsck: an older index is what the log derives for it"
run desk-case fsck --repair
is "$RC" 0 "fsck --repair"
is "$(head -c 10 $DESK_STORE/index/keys.hx)" "desk hx 2" "... rebuilds it as version 2"
od -An -tx1 -v -w32 -j 4096 $DESK_STORE/index/keys.hx | awk '$11 == "d5" && $12 == "6b"' > $T/near
[ "$(lines $T/near)" -ge 300 ]; ok $? "... with the message event keys near their users' ($(lines $T/near) near)"
msgs 1 301 50 u | desk-case > $T/out
is "$(grep -c '"duplicate":true' $T/out)" 300 "a replay after the rebuild finds every event"
is "$(tail -n 1 $T/out | jq -c '[.message_id, .duplicate]')" "[301,null]" "... and the new one is new"
run desk-case fsck
is "$RC" 0 "fsck after"

done_testing
