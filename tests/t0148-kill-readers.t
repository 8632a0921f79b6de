#!/bin/sh
# A writer killed inside its flush leaves slot files that a reader which
# takes no lock (show, list) reads before any writer rolls the journal
# forward: every event acknowledged before the kill must be there for it.
# The flush writes a table before the tables whose slots point into it
# (a message before its case's head, a case and its links before the
# user's newest case), and keys.hx last, so no write leaves an older
# slot pointing at one not yet written (desk-store(5)). The kill is put at
# each pwrite64 of the batch in turn by strace, as in t0141; and a write
# that fails with ENOSPC (a full disk) stops the flush where a kill would.
. "$(dirname "$0")/lib.sh"

need_strace

with_channel app
# Acknowledged before any kill: 12 users, 3 messages each, one case each.
awk 'BEGIN { for (r = 1; r <= 3; r++) for (i = 1; i <= 12; i++)
	printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"id\":\"b%d.%d\",\"content\":\"hi\"}\n", i, i, r }' |
	desk-case > $T/base.out
is "$(wc -l < $T/base.out | tr -d ' ')" 36 "the base messages are acknowledged"
# More messages in those cases and new users (new cases, new users' chains).
awk 'BEGIN { for (i = 1; i <= 300; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"id\":\"m%d\",\"content\":\"more %d\"}\n", i % 60 + 1, i, i }' > $T/messages
# Replies: a message each in a base case, and an outbox entry.
awk 'BEGIN { for (i = 1; i <= 300; i++) printf "{\"type\":\"reply\",\"case_id\":%d,\"id\":\"r%d\",\"content\":\"reply %d\"}\n", i % 12 + 1, i, i }' > $T/replies
# Closes and messages after them: a new case on the user's chain.
awk 'BEGIN { for (i = 1; i <= 12; i++) {
	printf "{\"type\":\"status\",\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"id\":\"s%d\",\"status\":\"closed\"}\n", i, i
	printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"id\":\"n%d\",\"content\":\"again\"}\n", i, i } }' > $T/reopens
cp -a $DESK_STORE $T/base

# What a reader must find: each base case's messages, each base user's case.
seen() {
	for c in $(seq 1 12); do
		desk-case show $c | jq -c "[$c, [.messages[].message_id]]" ||
			echo "show $c failed"
		desk-case list --user $c | jq -c "[\"user $c\", .case_id]" ||
			echo "list --user $c failed"
	done
}
seen > $T/want
is "$(grep -c '^\[[0-9]*,\[[0-9]*,[0-9]*,[0-9]*\]\]$' $T/want)" 12 \
	"a reader sees the 12 base cases with their 3 messages each"

# holds WANT GOT: every base message and case of WANT is in GOT.
holds() {
	jq -n -e --slurpfile w "$1" --slurpfile g "$2" '
	    def by: map({key: (.[0] | tostring), value: .[1]}) | group_by(.key) |
	        map({key: .[0].key, value: (map(.value) | flatten)}) | from_entries;
	    ($w | by) as $a | ($g | by) as $b |
	    all($a | to_entries[]; .value - ($b[.key] // []) == [])' > /dev/null
}
# A check that can fail: a reader's view with a message gone is caught.
grep -v '^\[1,' $T/want > $T/short
echo '[1,[1,13]]' >> $T/short
holds $T/want $T/short
isnt $? 0 "holds catches a base message missing from a reader's view"
holds $T/want $T/want
ok $? "holds passes a view with everything"

# sweep TOOL INPUT [HOW]: stops TOOL at each pwrite64 in turn (killed, or
# HOW: the write fails so, as on a full disk); a reader first.
sweep() {
	tool=$1 in=$2 how=${3:-signal=KILL}
	rm -rf $DESK_STORE; cp -a $T/base $DESK_STORE
	strace -f -o $T/count -e trace=pwrite64 $tool < $in > /dev/null 2>&1
	total=$(grep -c "pwrite64(" $T/count)
	[ "$total" -ge 10 ]; ok $? "$tool makes $total pwrite64s for its batch"
	hidden=0 kills=0 k=1 tried=0
	while [ $k -le "$total" ]; do
		tried=$((tried + 1))
		rm -rf $DESK_STORE; cp -a $T/base $DESK_STORE
		strace -f -o /dev/null -e trace=pwrite64 \
			-e inject=pwrite64:$how:when=$k $tool < $in > /dev/null 2>&1
		[ $? -ne 0 ] && kills=$((kills + 1))
		seen > $T/got 2> $T/got.err
		holds $T/want $T/got ||
			{ hidden=$((hidden + 1)); echo "# pwrite64 $k: $(tr '\n' ' ' < $T/got | head -c 300)"; }
		if [ $k -lt 30 ]; then k=$((k + 1)); else k=$((k + total / 15 + 1)); fi
	done
	[ "$kills" -ge $((tried / 2)) ]
	ok $? "$tool: stopped ($how) at $kills of the $tried of its $total pwrite64s tried"
	is "$hidden" 0 "$tool: after each stop ($how) a reader sees every acknowledged message and case"
}

# A chain that ends before its count is damage, said (74), not a case
# shown with messages missing; fsck --repair rebuilds the slot.
rm -rf $DESK_STORE; cp -a $T/base $DESK_STORE
dd if=/dev/zero of=$DESK_STORE/index/messages.slots bs=64 seek=13 count=1 \
	conv=notrunc 2> /dev/null
run desk-case show 1
is "$RC" 74 "show of a case whose chain lost a message's slot exits 74"
like $ERR 'case 1: message 13, 2 from its newest, has no slot \(run desk-case fsck --repair\)' \
	"and says which message of which case"
is "$(wc -c < $OUT | tr -d ' ')" 0 "and prints no part of the case"
desk-case fsck --repair > /dev/null 2>&1
run desk-case show 1
json $OUT '[.messages[].message_id]' '[1,13,25]' "fsck --repair gives the case its three messages back"

sweep desk-case $T/messages
sweep desk-reply $T/replies
sweep desk-case $T/reopens
sweep desk-case $T/messages error=ENOSPC

done_testing
