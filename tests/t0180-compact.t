#!/bin/sh
# desk-case compact: the sealed segments lose the superseded versions of
# users and cases and nothing else. Every question the tools answer is
# answered the same after as before (a copy of the store taken before is
# the reference): each case shown with its messages, the list, replays of
# every event, new messages linked by old contacts; fsck passes; the log
# is smaller. A journal left by a compaction cut short is finished by the
# next lock.
. "$(dirname "$0")/lib.sh"

export DESK_SEGMENT_SIZE=65536
with_channel app
awk 'BEGIN { for (i = 1; i <= 200; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"id\":\"m%d\",\"content\":\"hi\"}\n", i, i }' > $T/msgs
# Cases rewritten 20 times by status events without an id, users 4 times by new contacts.
awk 'BEGIN { for (r = 1; r <= 20; r++) for (i = 1; i <= 200; i++) printf "{\"type\":\"status\",\"case_id\":%d,\"status\":\"%s\"}\n", i, r % 2 ? "pending" : "open" }' > $T/status
awk 'BEGIN { for (r = 1; r <= 4; r++) for (i = 1; i <= 200; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"id\":\"c%d-%d\",\"content\":\"again\",\"email\":\"u%d-%d@example.org\"}\n", i, r, i, i, r }' > $T/contacts
# Status events with an id, before the rewrites: their case versions answer
# replays, so they stay.
awk 'BEGIN { for (i = 1; i <= 200; i++) printf "{\"type\":\"status\",\"id\":\"s%d\",\"case_id\":%d,\"status\":\"pending\"}\n", i, i }' > $T/status-id
cat $T/msgs $T/status-id $T/status $T/contacts > $T/all
run desk-case $T/all
rc 0 "200 cases, rewritten 20 times, their users 4 times, in segments of 64 KiB"
# A later version of user 7 without the emails its earlier ones set (no
# tool writes one yet): the index keeps their keys (lookups check them
# against the latest version), so the earlier versions that set them
# stay. Rolled forward by the next writer.
last=$(ls $DESK_STORE/log | tail -n 1)
printf '%s\n' '{"rec":"user","user_id":7,"custom_ids":[{"channel":"app","user_custom_id":"u7"}],"emails":[],"phones":[],"name":null,"company":null,"fields":{},"identified":false,"linked_users":[],"created_at":"2026-11-21T09:00:00Z","updated_at":"2026-11-21T09:00:00Z"}' >> $DESK_STORE/log/$last
# Something after, so the segments above are sealed.
awk 'BEGIN { for (i = 1; i <= 300; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"content\":\"later %d\"}\n", i % 200 + 1, i }' | desk-case > /dev/null

# answers DIR OUT: what the tools say about the store in DIR.
answers() {
	: > $2
	for i in $(seq 1 200); do DESK_STORE=$1 desk-case show $i >> $2; done
	DESK_STORE=$1 desk-case list >> $2
	DESK_STORE=$1 desk-case list --status pending >> $2
	# Replays answer from the records: every event a duplicate, as first stored.
	DESK_STORE=$1 desk-case $T/msgs $T/contacts $T/status-id >> $2
	# An old contact still finds its user.
	printf '%s\n' '{"channel":"app","user_custom_id":"new1","email":"u7-1@example.org","content":"me again"}' \
	    '{"channel":"app","user_custom_id":"new2","email":"u8-2@example.org","content":"me too"}' |
		DESK_STORE=$1 desk-case >> $2
}
before=$(du -sb $DESK_STORE/log | cut -f1)
cp -a $DESK_STORE $T/copy
run desk-case compact
rc 0 "compact: exit 0"
json $OUT '[.rewritten > 0, .dropped >= 4000, .bytes_after < .bytes_before / 2]' '[true,true,true]' \
	"compact: sealed segments rewritten, the superseded versions left out: $(cat $OUT)"
after=$(du -sb $DESK_STORE/log | cut -f1)
[ "$after" -lt $((before / 2)) ]; ok $? "the log is less than half its size: $before -> $after bytes"
run desk-case fsck
rc 0 "fsck passes after compact"
json $OUT '[.users, .cases, .messages, .damage, .notes]' '[200,200,1300,0,0]' "fsck: every user, case and message, no finding"
is "$(ls -A $DESK_STORE/tmp | wc -l | tr -d ' ')" 0 "tmp/ is empty"
grep -c '"rec":"case"' $DESK_STORE/log/*.jsonl | awk -F: '{ n += $2 } END { print n }' > $T/ncase
[ "$(cat $T/ncase)" -ge 400 ]; ok $? "the first version and the event's version of each case stay: $(cat $T/ncase) case records"
# Every index key is derived again (the entry count in keys.hx's header),
# user 7's emails among them, though its latest version dropped them; but
# the status marks, a key for each MiB and each 64 MiB of a segment that
# case and message records start in, of which a shorter log has fewer.
keys() { od -An -tu8 -j24 -N8 $1/index/keys.hx | tr -d ' '; }
marks() {
	LC_ALL=C awk 'FNR == 1 { off = 0 }
		/^\{"rec":"(case|message)"/ { m[FILENAME " " int(off / 1048576)]; g[FILENAME " " int(off / 67108864)] }
		{ off += length($0) + 1 }
		END { print length(m) + length(g) }' $1/log/*.jsonl
}
is "$(( $(keys $DESK_STORE) - $(marks $DESK_STORE) ))" "$(( $(keys $T/copy) - $(marks $T/copy) ))" \
	"the index has as many keys as before, but the marks: $(keys $T/copy) - $(marks $T/copy)"
answers $T/copy $T/want
answers $DESK_STORE $T/got
cmp -s $T/want $T/got; ok $? "every case, message, list, replay and contact lookup answered as before ($(lines $T/got) lines)"
grep -c '"duplicate":true' $T/got > $T/dups
is "$(cat $T/dups)" 1200 "the 1200 replayed events are duplicates"
# A reader that read the index before the swap and the log after: an
# error, never another case's record.
cp -a $DESK_STORE $T/mixed
cp $T/copy/index/* $T/mixed/index/
wrong=0 failed=0
for i in $(seq 1 200); do
	if DESK_STORE=$T/mixed desk-case show $i > $T/m 2> $T/m.err; then
		DESK_STORE=$T/copy desk-case show $i | cmp -s - $T/m || wrong=$((wrong + 1))
	else
		failed=$((failed + 1))
	fi
done
[ $wrong -eq 0 ] && [ $failed -gt 0 ]; ok $? "old index, new log: $failed cases refused, $wrong shown wrong"
# Where the bytes happen to be a whole record, it is another case's: a
# slot copied to another id (its CRC holds) points at case 1's record.
cp -a $T/copy $T/swapped
dd if=$T/copy/index/cases.slots of=$T/swapped/index/cases.slots bs=64 skip=1 seek=2 count=1 conv=notrunc 2> /dev/null
DESK_STORE=$T/swapped desk-case show 2 > $T/m 2> $T/m.err
is "$?:$(jq -c .case_id $T/m)" "74:" "a slot pointing at another case's record: refused, not shown as case 2"
like $T/m.err 'case 2: the slot points at another record' "and said so"
# A second run finds nothing more to leave out.
run desk-case compact
json $OUT '[.dropped, .rewritten]' '[0,0]' "a second compact leaves out nothing"

# A journal a compaction left before it could rename: the next lock finishes it.
rm -rf $DESK_STORE; cp -a $T/copy $DESK_STORE
cp $DESK_STORE/index/cases.slots $DESK_STORE/tmp/1.cases
printf 'tmp/1.cases index/cases.slots\n' > $DESK_STORE/compact
epoch=$(jq .epoch $DESK_STORE/state)
run desk-case fsck
rc 0 "fsck after a journal was left: passes"
[ ! -e $DESK_STORE/compact ] && [ ! -e $DESK_STORE/tmp/1.cases ]; ok $? "the journal was carried out and removed"
is "$(jq .epoch $DESK_STORE/state)" $((epoch + 1)) "the epoch advanced, so other processes reopen their files"
printf 'tmp/1.cases /etc/passwd\n' > $DESK_STORE/compact
run desk-case fsck
rc 74 "a journal naming a file outside log/ and index/ is refused"
like $ERR 'compact: damaged' "and named"

done_testing
