#!/bin/sh
# One batch, as strace sees it (desk-store(5), Durable before acknowledged):
# its log records go out in one write (a few past a megabyte); each index
# bucket and slot it changed is written once, after its units went to
# index/batch.redo; the log and the journal are synced once with
# fdatasync, the derived files not at all (a checkpoint does, every so
# often), and no syncfs waits for the rest of the disk. With
# DESK_SYNC=event, the same per event.
. "$(dirname "$0")/lib.sh"

need_strace

with_channel app
# Files made and the index grown first, so the batch below only appends
# and overwrites.
msgs() { # msgs FROM TO: messages of 1,000 users
	awk -v a=$1 -v b=$2 'BEGIN { for (i = a; i <= b; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"id\":\"e%d\",\"content\":\"message %d about my order\"}\n", i % 1000, i, i }'
}
msgs 1 6000 | desk-case > /dev/null
msgs 6001 8000 > $T/batch
bytes=$(wc -c < $T/batch)

# The batch in one read: one batch.
t=$T/trace
strace -f -y -o $t -e trace=write,pwrite64,pwritev,writev,fsync,fdatasync,syncfs,sync,sync_file_range \
	desk-case $T/batch > $T/out 2> $T/err
rc_=$?
is "$rc_ $(lines $T/out)" "0 2000" "2000 events answered"
# calls CALL PATH-REGEX: how many CALLs on a file matching PATH-REGEX
calls() { grep -E "^[0-9]+ +$1\([0-9]+<[^>]*$2[^>]*>" $t | wc -l | tr -d ' '; }
# A batch also ends after a second: a slow run (sanitizers, a loaded box)
# makes two or three of it. Each commit syncs the log once.
b=$(calls fdatasync '/log/[0-9]+\.jsonl')
[ "$b" -ge 1 ] && [ "$b" -le 8 ]; ok $? "$b batches (commits)"
is "$(grep -cE '^[0-9]+ +(syncfs|sync)\(' $t)" 0 "no syncfs, no sync"
w=$(calls write '/log/[0-9]+\.jsonl')
[ "$w" -ge 1 ] && [ "$w" -le $((2 * b)) ]; ok $? "the log: $w writes for 2000 records in $b batches"
is "$(calls pwrite64 '/log/')" 0 "... and no pwrite to it"
# The files it wrote: the log, the journal, the derived files and the
# state. Only the first two are synced (desk-store(5): the state is
# written after the sync, and an older one on disk only makes a
# roll-forward longer; the derived files are the journal's after a crash).
grep -E '^[0-9]+ +p?write64\(|^[0-9]+ +write\(' $t | sed -nE 's/^[0-9]+ +p?write(64)?\([0-9]+<([^>]*)>.*/\2/p' |
	grep "^$DESK_STORE/" | sort -u > $T/all-written
grep -q '/state$' $T/all-written; ok $? "the state is written"
is "$(calls fdatasync /state)" 0 "... and not synced"
grep -v 'batch\.redo$\|/state$' $T/all-written > $T/written
is "$(grep -c 'jsonl$' $T/written) $(grep -c 'slots$' $T/written) $(grep -c 'keys.hx$' $T/written)" "1 2 1" \
	"it wrote the log, two slot files (the users' did not change) and the index"
is "$(calls fdatasync 'batch\.redo')" $b "index/batch.redo: one fdatasync a batch"
while read -r f; do
	case $f in
	*.jsonl) want=$b ;;
	*) want=0 ;;
	esac
	is "$(calls fdatasync "$f")" $want "${f#$DESK_STORE/}: $want fdatasyncs"
done < $T/written
is "$(grep -cE '^[0-9]+ +fdatasync\(' $t)" $((b * 2)) "no other file synced"
# The journal's record is whole on disk before any unit is written, and
# after the log it derives from: log sync, journal write, journal sync.
grep -E '^[0-9]+ +(pwrite64|fdatasync)\(' $t | sed -nE 's/^[0-9]+ +(pwrite64|fdatasync)\([0-9]+<[^>]*\/([^/>]*)>.*/\1 \2/p' |
	awk '$1 == "fdatasync" && $2 ~ /jsonl$/ { s = 1; next }
	(s == 1 || s == 2) && $2 == "batch.redo" && $1 == "pwrite64" { s = 2; next }
	s == 2 && $2 == "batch.redo" && $1 == "fdatasync" { s = 3; next }
	$1 == "pwrite64" && $2 != "state" && s != 3 { bad++ }
	END { print bad + 0 }' > $T/order
is "$(cat $T/order)" 0 "every unit written after its batch's log sync, journal write and journal sync"
is "$(grep -cE '^[0-9]+ +fsync\(' $t)" 0 "no directory synced: no name was made"
# Every pwrite's offset and length per file, batch by batch (a batch's
# end is its first fdatasync): none overlaps another of its batch.
grep -E '^[0-9]+ +(pwrite64|fdatasync)\(' $t | grep -v 'batch\.redo' |
	sed -E 's/^[0-9]+ +pwrite64\([0-9]+<([^>]*)>, .*, ([0-9]+), ([0-9]+)\) += [0-9]+$/\1 \3 \2/; s/^[0-9]+ +fdatasync.*/sync/' > $T/pw
awk '$1 == "sync" { if (!synced) n++; synced = 1; next }
	synced { delete seen; synced = 0 }
	{ split($1, p, "/"); f = p[length(p)]
	o = $2; len = $3
	# the index: in 4096-byte buckets after a 4096-byte header; slots whole.
	if (f == "keys.hx") { lo = int(o / 4096); hi = int((o + len - 1) / 4096) }
	else { lo = o / 64; hi = (o + len) / 64 - 1 }
	for (u = lo; u <= hi; u++) if (seen[f, u]++) { print f, u; bad++ } }
	END { print "twice", bad + 0 }' $T/pw > $T/units
is "$(sed -n 's/^twice //p' $T/units)" 0 "each bucket and each slot is written once a batch"
pw=$(grep -vc '^sync' $T/pw)
# (Its other writes, where the file system has no fallocate, are zeros
# ahead of its end: see desk-store(5).)
is "$(grep -E '^[0-9]+ +pwrite64\([0-9]+<[^>]*batch\.redo>, "desk redo 1' $t | wc -l | tr -d ' ')" $b \
	"the flush's units go to index/batch.redo in one write first"
# Before: 6,000 pwrite64 for 2,000 events (one per slot and per entry).
[ "$pw" -lt $((700 * b)) ]; ok $? "$pw pwrite64s for 2000 events"

# Per-event durability: each event's commit syncs its files, no more.
msgs 8001 8020 > $T/few
strace -f -y -o $t -e trace=write,fsync,fdatasync,syncfs \
	env DESK_SYNC=event desk-case $T/few > $T/out 2> $T/err
is "$(lines $T/out)" 20 "DESK_SYNC=event: 20 answered"
is "$(grep -cE '^[0-9]+ +syncfs\(' $t)" 0 "... no syncfs"
is "$(calls write '/log/')" 20 "... one log write per event"
n=$(grep -cE '^[0-9]+ +fdatasync\(' $t)
is "$n" $((20 * 2)) "... $n fdatasyncs for 20 events: the log's and the journal's"

done_testing
