#!/bin/sh
# desk-case backup DEST while a writer runs: every event the writer
# acknowledged before the backup began is in the copy, the copy is
# fsck-clean, sealed segments are hard links (copies across filesystems),
# and the writer goes on.
. "$(dirname "$0")/lib.sh"

DESK_SEGMENT_SIZE=4096    # many sealed segments to link
export DESK_SEGMENT_SIZE
with_channel app
ev() { printf '{"channel":"app","user_custom_id":"u%d","id":"e%d","content":"message %d of a writer that runs while the backup is made"}\n' $(($1 % 40)) "$1" "$1"; }

# The writer: one desk-case reading a FIFO, its acknowledgements (written
# after each commit) in $T/acks.
mkfifo $T/fifo
desk-case < $T/fifo > $T/acks 2> $T/writer.err & writer=$!
exec 3> $T/fifo
i=1
while [ $i -le 300 ]; do ev $i >&3; i=$((i + 1)); done
until [ "$(wc -l < $T/acks)" -ge 300 ]; do sleep 0.05; done
# Keep it writing, a few events every 10 ms, before, while and after the
# backup runs, until told to stop.
( j=301; while [ ! -e $T/stop ]; do
	for k in 1 2 3 4 5; do ev $j; j=$((j + 1)); done; sleep 0.01
done; echo $((j - 1)) > $T/sent ) >&3 & feeder=$!
sleep 0.3
cp $T/acks $T/acked    # acknowledged before the backup starts
run desk-case backup $T/copy
rc 0 "backup while the writer runs: exit 0"
cp $OUT $T/summary
sleep 0.3
touch $T/stop
wait $feeder
exec 3>&-
wait $writer
is "$?" 0 "the writer ran on and exits 0"
total=$(cat $T/sent)
is "$(wc -l < $T/acks | tr -d ' ')" "$total" "and acknowledged every event it was sent"
n=$(wc -l < $T/acked | tr -d ' ')
ok "$([ "$n" -ge 300 ] && echo 0 || echo 1)" "$n events acknowledged before the backup"

json $T/summary '[.backup == "'$T/copy'", .segments > 3, .linked > 2, .copied > 5]' \
	'[true,true,true,true]' "the summary: the segments, most of them linked"
seg=$(ls $T/store/log | head -n 1)
is "$(stat -c %i $T/copy/log/$seg)" "$(stat -c %i $T/store/log/$seg)" "a sealed segment is a hard link"
last=$(ls $T/copy/log | tail -n 1)
isnt "$(stat -c %i $T/copy/log/$last)" "$(stat -c %i $T/store/log/$last)" \
	"the segment being appended to is a copy"
is "$(ls -a $T | grep -c partial)" 0 "no temporary directory left"

DESK_STORE=$T/copy run desk-case fsck
rc 0 "the copy passes fsck"
json $OUT '.damage' 0 "fsck: no damage in the copy"
copied=$(jq .messages $OUT)
ok "$([ "$copied" -ge "$n" ] && echo 0 || echo 1)" "the copy holds $copied messages, at least the $n acknowledged"
ok "$([ "$copied" -lt "$total" ] && echo 0 || echo 1)" "but not the $total the writer wrote in all: it wrote on while the copy was made"

# Every acknowledged event is in the copy: offered again, each is a duplicate.
jq -c '{channel, user_custom_id, id, content}' $T/acked > $T/again
DESK_STORE=$T/copy run desk-case $T/again
rc 0 "the acknowledged events offered to the copy"
is "$(jq -c 'select(.duplicate != true) | .id' $OUT | head -n 3 | tr '\n' ' ')" "" \
	"every event acknowledged before the backup is in the copy"
is "$(jq -s -c 'map(.message_id) | sort' $OUT)" "$(jq -s -c 'map(.message_id) | sort' $T/acked)" \
	"with the message ids the writer gave"

run desk-case fsck
rc 0 "the live store is fsck-clean after the backup"

# --- another filesystem: copies, no links ---
if [ -d /dev/shm ] && [ -w /dev/shm ] && [ "$(stat -c %d /dev/shm)" != "$(stat -c %d $T)" ]; then
	shm=$(mktemp -d /dev/shm/desk-backup.XXXXXX)
	run desk-case backup $shm/copy
	rc 0 "backup to another filesystem: exit 0"
	json $OUT '[.linked, .copied > 10]' '[0,true]' "across filesystems every file is copied"
	DESK_STORE=$shm/copy run desk-case fsck
	rc 0 "and the copy passes fsck"
	DESK_STORE=$shm/copy run desk-case list
	is "$(jq -s 'map(.message_count) | add' $OUT)" "$total" "with all $total messages"
	rm -rf "$shm"
else
	for x in 1 2 3 4; do pass "# SKIP /dev/shm is not another filesystem"; done
fi

# --- refusals ---
run desk-case backup $T/copy
rc 74 "an existing DEST: exit 74"
like $ERR "already exists" "and says so"
run desk-case backup $T/no/such/dir
rc 74 "a missing parent: exit 74"
run desk-case backup $T/x/
rc 64 "a trailing slash: exit 64"
is "$(ls -a $T | grep -c partial)" 0 "no temporary directory left by a refusal"
run desk-case backup
rc 64 "no DEST: usage, exit 64"
done_testing
