#!/bin/sh
# A crash of the machine (desk-store(5), Durable before acknowledged): the
# derived files are not synced at a commit, only the log and
# index/batch.redo are, so after a power cut any page of a slot file or
# of the index may be on disk as the last checkpoint left it or as any
# later write made it. The first lock in the next boot (the state names
# another) writes the journal's records again, in order, and rolls
# forward: fsck then finds nothing, every acknowledged event is there, and
# a replay of the input stores each event once.
#
# The disk after the cut is made by hand: the files as the writer left
# them, but each 4 KiB page of every derived file taken at random from a
# copy made after the last checkpoint, and the state's boot changed. The
# same disk with the state's boot left as it was (a killed writer, not a
# crash: nothing to write again) shows what the journal puts right.
. "$(dirname "$0")/lib.sh"

need_strace

with_channel app
msgs() { # msgs FROM TO: messages of 400 users, every fifth a new one
	awk -v a=$1 -v b=$2 'BEGIN { for (i = a; i <= b; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"id\":\"e%d\",\"content\":\"message %d\"}\n", i % 5 ? i % 400 : i, i, i }'
}
# Enough that the index is not grown by the 1,000 below (a grow is a
# checkpoint: what was written before it is on disk, which a copy made
# before it would not show).
msgs 1 5000 | desk-case > /dev/null
# A copy of the disk after the last checkpoint.
sync
cp -a "$DESK_STORE" $T/img
gen() { sed -n 's/.*"redo":{"gen":\([0-9]*\),.*/\1/p' "$1/state"; }
msgs 5001 6000 > $T/in
boot=$(cat /proc/sys/kernel/random/boot_id 2> /dev/null)
[ -n "$boot" ]; ok $? "this boot has an id"
like "$DESK_STORE/state" "\"boot\":\"$boot\"" "the state names this boot"

# power_cut SEED: the store as a power cut after the writer could leave it, in $T/cut
power_cut() {
	rm -rf $T/cut
	cp -a "$DESK_STORE" $T/cut
	for f in $T/cut/index/*.slots $T/cut/index/keys.hx; do
		old=$T/img/index/${f##*/}
		[ -f "$old" ] || continue
		pages=$(( ($(wc -c < "$old") + 4095) / 4096 ))
		awk -v n=$pages -v s="$1${f##*/}" 'BEGIN {
			for (i = 0; i < length(s); i++) seed = seed * 31 + index("abcdefghijklmnopqrstuvwxyz0123456789.", substr(s, i + 1, 1))
			srand(seed % 2147483647); for (p = 0; p < n; p++) if (rand() < 0.5) print p }' |
		while read -r p; do
			dd if="$old" of="$f" bs=4096 skip=$p seek=$p count=1 conv=notrunc 2> /dev/null
		done
	done
}
# reboot: the cut store's state as a later boot reads it (same length)
reboot() {
	sed "s/\"boot\":\"[0-9a-f-]*\"/\"boot\":\"$(echo "$boot" | tr '0-9a-f' 'f0-9a-e' | cut -c 1-${#boot})\"/" \
		$T/cut/state > $T/state.new && cat $T/state.new > $T/cut/state
}

round=0 fixed=0 broken=0 lost=0 killed=0 invalid=0 noted=0
for k in 0 20 60 200 450 800; do
	round=$((round + 1))
	rm -rf "$DESK_STORE"; cp -a $T/img "$DESK_STORE"
	if [ $k -eq 0 ]; then
		desk-case < $T/in > $T/acked 2> /dev/null
	else
		strace -f -o /dev/null -e trace=pwrite64 -e inject=pwrite64:signal=KILL:when=$k \
			desk-case < $T/in > $T/acked 2> /dev/null
		[ $? -ne 0 ] && killed=$((killed + 1))
	fi
	n=$(lines $T/acked)
	[ "$(gen "$DESK_STORE")" = "$(gen $T/img)" ] || echo "# round $round: a checkpoint in the run: the copy is older than the disk could be"
	[ "$(gen "$DESK_STORE")" = "$(gen $T/img)" ] || invalid=$((invalid + 1))
	# Without the reboot: a killed writer's store, its pages mixed.
	power_cut $round
	DESK_STORE=$T/cut desk-case fsck > $T/fsck 2> /dev/null
	[ $? -ne 0 ] && broken=$((broken + 1))
	# With it: the journal written again.
	power_cut $round
	reboot
	DESK_STORE=$T/cut desk-case fsck > $T/fsck 2> $T/fsck.err
	rc=$?
	grep -q 'crash of the machine: wrote [1-9][0-9]* records of index/batch.redo again' $T/fsck.err ||
		echo "# round $round: fsck did not note the journal written again: $(head -c 200 $T/fsck.err)"
	grep -q 'crash of the machine: wrote [1-9]' $T/fsck.err && noted=$((noted + 1))
	if [ $rc -eq 0 ] && [ "$(jq .damage $T/fsck)" = 0 ]; then
		fixed=$((fixed + 1))
	else
		echo "# round $round (kill at $k): fsck $rc: $(head -c 300 $T/fsck.err)"
	fi
	grep -q "\"boot\":\"$boot\"" $T/cut/state || echo "# round $round: the state still names another boot"
	# Every acknowledged event is there: the input again finds each one
	# stored (a duplicate), and stores the rest once.
	DESK_STORE=$T/cut desk-case < $T/in > $T/again 2> /dev/null
	jq -r 'select(.duplicate == true) | .id' $T/again | sort > $T/dups
	miss=$(jq -r .id $T/acked | sort | comm -23 - $T/dups | wc -l | tr -d ' ')
	[ "$miss" -eq 0 ] || { lost=$((lost + 1)); echo "# round $round: $miss of $n acknowledged events were not there"; }
	DESK_STORE=$T/cut desk-case fsck 2> /dev/null | jq -c '[.damage, .messages]' > $T/after
	[ "$(cat $T/after)" = "[0,6000]" ] ||
		{ lost=$((lost + 1)); echo "# round $round: after the replay: $(cat $T/after)"; }
done
is "$invalid" 0 "no round's run made a checkpoint (the copy is what a cut could leave)"
[ "$killed" -ge 3 ]; ok $? "the writer was killed in $killed of the 5 rounds that kill it"
[ "$broken" -ge 1 ]; ok $? "the mixed pages are damage to fsck without the journal ($broken of $round rounds)"
is "$fixed" "$round" "after the reboot's lock, fsck passes in every round"
is "$noted" "$round" "... and notes that it wrote the journal again"
is "$lost" 0 "no acknowledged event lost or stored twice; a replay stores each once"

# A store an older desk wrote (its state says nothing of the journal, and
# its derived files were synced at every commit): the first lock syncs
# them and begins the journal's first generation, naming this boot.
rm -rf "$DESK_STORE"; cp -a $T/img "$DESK_STORE"
sed 's/,"redo":{[^}]*}//' "$DESK_STORE/state" > $T/state.old
printf '%-511s\n' "$(tr -d '\n ' < $T/state.old)" > "$DESK_STORE/state"
unlike "$DESK_STORE/state" '"redo"' "an older store's state"
msgs 6001 6010 | desk-case > /dev/null
like "$DESK_STORE/state" "\"redo\":{\"gen\":1,\"end\":[1-9][0-9]*,\"boot\":\"$boot\"}" \
	"its first lock began generation 1 of the journal, of this boot"
is "$(desk-case fsck | jq -c '[.damage, .messages]')" "[0,5010]" "... and the store is whole"

# No boot to tell a crash by (its /proc file empty, in a mount namespace
# of its own): the writer writes the journal again (the last writer had a
# boot it cannot compare), syncs every derived file it wrote at the
# commit, and the state says so with an empty boot; the next writer that
# has one begins a new generation.
noboot() {
	unshare -m sh -c 'mount --bind /dev/null /proc/sys/kernel/random/boot_id && exec "$@"' sh "$@"
}
if noboot true 2> /dev/null; then
	gen0=$(gen "$DESK_STORE")
	msgs 6011 6020 > $T/nb
	noboot strace -f -y -o $T/nbtrace -e trace=fdatasync desk-case $T/nb > /dev/null 2>&1
	is "$?" 0 "without a boot id: the writer runs"
	like "$DESK_STORE/state" '"boot":""' "... and the state names no boot"
	n=$(grep -cE 'fdatasync\([0-9]+<[^>]*index/[a-z]+\.(slots|hx)>' $T/nbtrace)
	[ "$n" -ge 2 ]; ok $? "... and the derived files it wrote are synced at its commit ($n)"
	msgs 6021 6030 | desk-case > /dev/null
	[ "$(gen "$DESK_STORE")" -gt "$gen0" ]; ok $? "the next writer with a boot begins a new generation"
	is "$(desk-case fsck | jq -c '[.damage, .messages]')" "[0,5030]" "... and the store is whole"
else
	for i in 1 2 3 4 5; do pass "without a boot id # SKIP no mount namespace here (unshare -m)"; done
fi
like "$DESK_STORE/state" '"redo":\{"gen":[0-9]+,"end":[0-9]+,' "the state says where the journal is"

# A journal an older desk wrote, whose records hold their units whole (not
# packed): the same cut, every record of it unpacked (tests/redo-unpack.py,
# the state's journal end moved with them), is put right alike at the
# reboot's lock.
rm -rf "$DESK_STORE"; cp -a $T/img "$DESK_STORE"
strace -f -o /dev/null -e trace=pwrite64 -e inject=pwrite64:signal=KILL:when=450 \
	desk-case < $T/in > $T/acked 2> /dev/null
power_cut unpacked
reboot
python3 "$TOP/tests/redo-unpack.py" $T/cut > $T/unpacked
like $T/unpacked '^unpacked [1-9][0-9]* of [1-9][0-9]* records$' \
	"a cut store's journal, its records unpacked: $(cat $T/unpacked)"
DESK_STORE=$T/cut desk-case fsck > $T/fsck 2> $T/fsck.err
is "$? $(jq .damage $T/fsck)" "0 0" "... fsck at the reboot's lock finds no damage"
like $T/fsck.err 'crash of the machine: wrote [1-9][0-9]* records of index/batch\.redo again' \
	"... having written those records again"
DESK_STORE=$T/cut desk-case < $T/in > $T/again 2> /dev/null
jq -r 'select(.duplicate == true) | .id' $T/again | sort > $T/dups
is "$(jq -r .id $T/acked | sort | comm -23 - $T/dups | wc -l | tr -d ' ') $(lines $T/acked)" \
	"0 $(lines $T/acked)" "... every acknowledged event is there"
is "$(DESK_STORE=$T/cut desk-case fsck 2> /dev/null | jq -c '[.damage, .messages]')" \
	"[0,6000]" "... and the input again stores the rest once"

done_testing
