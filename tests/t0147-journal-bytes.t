#!/bin/sh
# What index/batch.redo costs the disk (desk-store(5)): a flush's record
# holds its units packed (runs of zeros counted, not written), so it is
# shorter than what the units then write to the derived files; and the
# journal is made longer by fallocate(2), whose blocks are not written,
# not by zeros written ahead of it, but where the file system has no
# fallocate. Either way a crash of the machine finds the records again:
# t0144.
. "$(dirname "$0")/lib.sh"

need_strace

with_channel app
msgs() { # msgs FROM TO: messages of 300 users, every fourth a new one
	awk -v a=$1 -v b=$2 'BEGIN { for (i = a; i <= b; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"id\":\"e%d\",\"content\":\"message %d\"}\n", i % 4 ? i % 300 : i, i, i }'
}
t=$T/trace
# bytes PATH-REGEX [BEGINNING]: the bytes pwrite64 wrote to a file whose
# path matches, of the writes whose buffer begins so
bytes() {
	grep -E "^[0-9]+ +pwrite64\([0-9]+<[^>]*$1>, \"${2-}" $t |
		sed -E 's/.* = ([0-9]+)$/\1/' | awk '{ n += $1 } END { print n + 0 }'
}

# A fresh store's first batches: the journal made longer by fallocate.
msgs 1 3000 > $T/in1
strace -f -y -o $t -e trace=pwrite64,fallocate desk-case $T/in1 > $T/out 2> $T/err
is "$? $(lines $T/out)" "0 3000" "3000 events into a fresh store"
if fallocate -l 4096 $T/fa 2> /dev/null; then
	like $t '^[0-9]+ +fallocate\([0-9]+<[^>]*index/batch\.redo>, 0, 0, 1048576\) = 0' \
		"the journal's first megabyte allocated by fallocate"
	is "$(bytes 'index/batch\.redo' '\\0\\0')" 0 "... and no zeros written ahead of its records"
else
	echo "# no fallocate on $T's file system: zeros ahead"
	pass "the journal's first megabyte allocated (no fallocate here)"
	pass "... zeros written ahead instead"
fi

# A batch of a store with files and index: its record against its units.
msgs 3001 5000 > $T/in2
strace -f -y -o $t -e trace=pwrite64 desk-case $T/in2 > $T/out 2> $T/err
is "$? $(lines $T/out)" "0 2000" "2000 events more"
rec=$(bytes 'index/batch\.redo' 'desk redo 1') units=$(bytes 'index/[a-z]*\.(slots|hx)')
echo "# the journal's records: $rec bytes; the units written to the slots and the index: $units"
[ "$units" -gt 0 ] && [ "$rec" -gt 0 ] && [ "$rec" -lt $((units * 3 / 4)) ]
ok $? "the journal's records are packed: under 3/4 of the bytes their units write"
run desk-case fsck
json $OUT '[.damage,.messages]' '[0,5000]' "fsck: the store is whole"

# No fallocate on the file system (EOPNOTSUPP): zeros ahead, as before.
rm -rf "$DESK_STORE"
with_channel app
strace -f -y -o $t -e trace=pwrite64,fallocate -e inject=fallocate:error=EOPNOTSUPP \
	desk-case $T/in1 > $T/out 2> $T/err
is "$? $(lines $T/out)" "0 3000" "no fallocate: 3000 events into a fresh store"
[ "$(bytes 'index/batch\.redo' '\\0\\0')" -gt 0 ]
ok $? "... its journal made longer in zeros"
run desk-case fsck
json $OUT '[.damage,.messages]' '[0,3000]' "... and the store is whole"

# A fallocate that fails (ENOSPC): the batch is not answered (74), and
# the next writer takes it all.
rm -rf "$DESK_STORE"
with_channel app
strace -f -o /dev/null -e trace=fallocate -e inject=fallocate:error=ENOSPC \
	desk-case $T/in1 > $T/out 2> $T/err
is "$? $(lines $T/out)" "74 0" "fallocate failing with ENOSPC: exit 74, nothing answered"
like $T/err 'desk-case: .*index/batch\.redo: No space left' "... and it says where"
run desk-case $T/in1
rc 0 "the next run"
is "$(lines $OUT)" 3000 "... answers all"
run desk-case fsck
json $OUT '[.damage,.messages]' '[0,3000]' "... and stores each event once"

done_testing
