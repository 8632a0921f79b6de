#!/bin/sh
# fsck checks the derived state by having the engine rebuild it into tmp/
# and comparing: a slot's field, an index key missing, an extra one, a key
# of another value and a counter below the log are each found and named;
# the live files are left byte for byte as they were, and tmp/ empty, on
# failure too.
. "$(dirname "$0")/lib.sh"

with_channel app
awk 'BEGIN { for (i = 1; i <= 300; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"id\":\"e%d\",\"content\":\"m %d\"}\n", i % 20, i, i }' > $T/in
run desk-case $T/in
rc 0 "300 messages of 20 users stored"
run desk-case fsck
rc 0 "fsck: clean"
cp -r $DESK_STORE $T/pristine

# Every file of the store, by content (lock is empty, so is held alike).
sums() { (cd "$1" && find . -type f ! -name lock | sort | xargs sha256sum); }
restore() { rm -rf $DESK_STORE; cp -r $T/pristine $DESK_STORE; }
# fsck of a damaged store changes none of its files and leaves tmp/ empty.
untouched() {
	sums $DESK_STORE > $T/before
	run desk-case fsck
	sums $DESK_STORE > $T/after
	cmp -s $T/before $T/after; ok $? "$1: the live files are byte for byte as they were"
	is "$(ls -A $DESK_STORE/tmp | wc -l | tr -d ' ')" 0 "$1: tmp/ is empty afterwards"
}

# slot FILE ID OFFSET XOR: flips bits of byte OFFSET of slot ID and mends its CRC.
slot() {
	python3 - "$@" <<'EOF'
import struct, sys, zlib
path, sid, off, x = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
b = bytearray(open(path, 'rb').read())
o = sid * 64
b[o + off] ^= x
b[o:o + 4] = struct.pack('<I', zlib.crc32(bytes(b[o + 4:o + 64])) & 0xffffffff)
open(path, 'r+b').write(b)
EOF
}
# hx WHAT: in index/keys.hx, "drop" zeroes the first entry, "extra" adds one
# with a key no record has, "value" changes the first entry's value (CRC mended).
hx() {
	python3 - $DESK_STORE/index/keys.hx "$1" <<'EOF'
import struct, sys, zlib
path, what = sys.argv[1], sys.argv[2]
b = bytearray(open(path, 'rb').read())
entries = [o for o in range(4096, len(b), 32) if any(b[o:o + 16])]
free = [o for o in range(4096, 8192, 32) if not any(b[o:o + 16])]
if what == 'drop':
    o = entries[0]
    b[o:o + 32] = bytes(32)
else:
    o = free[0] if what == 'extra' else entries[0]
    if what == 'extra':
        b[o:o + 16] = bytes(range(1, 17))
        b[o + 16:o + 28] = struct.pack('<QI', 7, 0)
    else:
        v, = struct.unpack('<Q', b[o + 16:o + 24])
        b[o + 16:o + 24] = struct.pack('<Q', v ^ 0x10)
    b[o + 28:o + 32] = struct.pack('<I', zlib.crc32(bytes(b[o:o + 28])) & 0xffffffff)
open(path, 'r+b').write(b)
EOF
}

untouched "a clean store"

# --- a slot's field: case 3's message count (half 0, byte 56) ---
slot $DESK_STORE/index/cases.slots 3 56 1
untouched "a slot field changed"
rc 1 "a slot field changed: fsck exit 1"
like $ERR "^desk-case: fsck: case 3: slot says count [0-9]+, the log says [0-9]+$" \
	"named by table, id and field"
json $OUT '.damage' 1 "one finding"
restore

# ... the case indexes (apply keeps them): a case's next on its status
# list (word 2, byte 32), a user's last case (word 0, byte 16), a list's head
slot $DESK_STORE/index/caselinks.slots 3 32 1
untouched "a case's link changed"
rc 1 "a case's link changed: fsck exit 1"
like $ERR "^desk-case: fsck: case's links 3: slot says next [0-9]+, the log says 4$" \
	"named by table, id and field"
restore
slot $DESK_STORE/index/caselinks.slots 3 48 1
run desk-case fsck
rc 1 "a case's channel chain changed: fsck exit 1"
like $ERR "^desk-case: fsck: case's links 3: slot says chan_prev 3, the log says 2$" \
	"named by table, id and field"
run desk-case fsck --repair
run desk-case fsck
rc 0 "--repair rebuilds it"
restore
slot $DESK_STORE/index/users.slots 2 16 8
run desk-case fsck
rc 1 "a user's last case changed: fsck exit 1"
like $ERR "^desk-case: fsck: user 2: slot says last_case [0-9]+, the log says 2$" "named"
restore
slot $DESK_STORE/index/lists.slots 1 16 2
run desk-case fsck
rc 1 "the open list's head changed: fsck exit 1"
like $ERR "^desk-case: fsck: status list 1: slot says head 3, the log says 1$" "named"
run desk-case fsck --repair
run desk-case fsck
rc 0 "--repair rebuilds them"
restore

# ... where a message's slot points (rec)
slot $DESK_STORE/index/messages.slots 7 8 4
run desk-case fsck
rc 1 "a slot pointing elsewhere: exit 1"
like $ERR "fsck: message 7: slot points at the record at 1:[0-9]+, the log's latest is at 1:[0-9]+" \
	"says where it points and where it should"
restore

# ... a slot for a message the log does not have
python3 -c "
import sys
f = open('$DESK_STORE/index/messages.slots', 'r+b'); f.seek(301 * 64); f.write(open('$DESK_STORE/index/messages.slots', 'rb').read()[64:128])"
run desk-case fsck
rc 1 "a slot without a record: exit 1"
like $ERR "fsck: message 301 has a slot but no record" "and says so"
restore

# --- the index, key by key both ways ---
hx drop
untouched "an index key deleted"
rc 1 "an index key deleted: fsck exit 1"
like $ERR "^desk-case: fsck: index: .* is missing$" "the missing key is found"
unlike $ERR "index: key [0-9a-f]* is missing" "and named by the record that sets it"
restore

hx extra
untouched "an extra index key"
rc 1 "an extra index key: fsck exit 1"
like $ERR "fsck: index: key 0102030405060708 is not derived from the log" \
	"the extra key is found"
like $ERR "note: index/keys.hx: header counts [0-9]+ entries, found [0-9]+" \
	"and the header's count noted"
restore

hx value
untouched "an index value changed"
rc 1 "an index value changed: fsck exit 1"
like $ERR "fsck: index: .* disagrees with the log \(the index says [0-9]+/[0-9]+, the log [0-9]+/[0-9]+\)" \
	"the key of another value is found"
restore

# --- the state's counters ---
next=$(jq .next.message $DESK_STORE/state)
sed -i "s/\"message\":$next/\"message\":250/" $DESK_STORE/state
is "$(jq .next.message $DESK_STORE/state)" 250 "(the message counter set below the log)"
untouched "a counter lowered"
rc 1 "a counter lowered: fsck exit 1"
like $ERR "fsck: state: next message id 250 is not above the highest in the log \(300\)" \
	"the counter is found"
run desk-case fsck --repair
json $OUT '[.damage,.repaired]' '[0,true]' "--repair raises it"
is "$(jq .next.message $DESK_STORE/state)" 301 "past the highest id"
restore

# --- records a dead writer left uncommitted are rolled forward, then compared ---
seg=$(ls $DESK_STORE/log | tail -n 1)
tail -n 1 $DESK_STORE/log/$seg | jq -c '.message_id = 301 | .event_id = "rolled-1" | .content = "rolled"' > $T/rec
json $T/rec '.rec' '"message"' "(an uncommitted message with a new event id)"
cat $T/rec >> $DESK_STORE/log/$seg
run desk-case fsck
rc 0 "fsck after a dead writer: exit 0"
like $ERR "note: a writer stopped mid-batch: applied 1 records" "it rolled the record forward"
unlike $ERR "header counts" "and the index's header counts the key it added"
restore

# --- a store that fails mid-check leaves tmp/ empty too ---
rm -rf $DESK_STORE
with_channel app
DESK_SEGMENT_SIZE=4096 run desk-case $T/in
first=$(ls $DESK_STORE/log | head -n 1)
[ "$(ls $DESK_STORE/log | wc -l)" -gt 2 ]; ok $? "(several segments)"
# (as root a mode does not stop a read: a directory in its place does)
mv $DESK_STORE/log/$first $T/seg
mkdir $DESK_STORE/log/$first
run desk-case fsck
rmdir $DESK_STORE/log/$first
mv $T/seg $DESK_STORE/log/$first
rc 74 "a segment fsck cannot read: exit 74"
like $ERR "log/$first: Is a directory" "naming it"
is "$(ls -A $DESK_STORE/tmp | wc -l | tr -d ' ')" 0 "tmp/ is empty after the failed check"
run desk-case fsck
rc 0 "and the store is clean"

done_testing
