#!/bin/sh
# The store's promises: private, located as documented, locked with a
# bounded wait, rolled forward after a crash, checked and repaired by fsck.
. "$(dirname "$0")/lib.sh"

msg() { printf '{"channel":"app","user_custom_id":"%s","content":"%s"%s}\n' "$1" "$2" "${3:+,$3}"; }
perm() { stat -c %a "$1"; }

# --- created private ---
umask 022
with_channel app
is "$(perm $DESK_STORE)" 700 "store directory is 0700"
runin "$(msg u1 hi)" desk-case
is "$(perm $DESK_STORE/secrets)" 700 "secrets/ is 0700"
bad=$(find $DESK_STORE -type f ! -perm 600 | wc -l | tr -d ' ')
is "$bad" 0 "every file in the store is 0600, whatever the umask"

# --- where the store is ---
( unset DESK_STORE; export XDG_DATA_HOME=$T/xdg
  runin "$(msg x y)" desk-case; echo "$RC" > $T/rc1 ) || true
like $T/err "unknown channel" "XDG_DATA_HOME/desk is used when DESK_STORE is unset"
is "$(cat $T/rc1)" 65 "the record naming an unknown channel is rejected: exit 65"
test -f $T/xdg/desk/VERSION; ok $? "... and created there"
( unset DESK_STORE XDG_DATA_HOME; export HOME=$T/home
  runin "$(msg x y)" desk-case ) || true
test -f $T/home/.local/share/desk/VERSION; ok $? "else ~/.local/share/desk"
run desk-case -s $T/other list
rc 78 "-s names a store that does not exist: a reader exits 78"
like $ERR "no store here" "and says so"
run desk-case --store=$T/other2 list
rc 78 "--store=DIR works too"

# --- the writer lock: bounded wait, then 75 ---
# Held until released (hold, lib.sh), never for a fixed time; the bound on
# the wait grows with the same run's cost without it (DESK_LOCK_TIMEOUT=0).
hold $DESK_STORE/lock
msg u2 "waits" > $T/in
timed env DESK_LOCK_TIMEOUT=0 desk-case $T/in
cost=$MS
timed env DESK_LOCK_TIMEOUT=0.5 desk-case $T/in
took=$MS
rc 75 "lock held elsewhere: exit 75 after DESK_LOCK_TIMEOUT"
like $ERR "locked by another writer; gave up after 0.5 s" "and says why"
[ $took -ge 500 ] && [ $took -lt $((1500 + 2 * cost)) ]
ok $? "it waited about 0.5 s (${took} ms; without the wait ${cost} ms)"
is "$(wc -c < $OUT | tr -d ' ')" 0 "nothing was acknowledged"
desk-case $T/in > $OUT 2> $ERR &
waiter=$!
eventually 60 lock_waiting $waiter
release
wait_for $waiter 60
RC=$WRC
rc 0 "with the default wait it gets the lock once released"
run desk-case list --user-custom-id u2
is "$(lines $OUT)" 1 "the message is stored once"

# --- acknowledged only when durable: stdout full ---
msg u3 "to /dev/full" '"id":"full-1"' > $T/in
desk-case < $T/in > /dev/full 2> $ERR; RC=$?
rc 74 "stdout cannot be written: exit 74"
like $ERR "stdout: No space left on device" "and says so"
run desk-case $T/in
json $OUT '.duplicate' 'true' "the store had it before the answer was lost: a replay is a duplicate"

# --- segments rotate ---
awk 'BEGIN { for (i = 0; i < 200; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"r%d\",\"content\":\"rotate %d\"}\n", i % 7, i }' > $T/in
DESK_SEGMENT_SIZE=4096 run desk-case $T/in
rc 0 "small segments: exit 0"
n=$(ls $DESK_STORE/log | wc -l | tr -d ' ')
[ "$n" -gt 5 ]; ok $? "the log spans several segments ($n)"
run desk-case show 4
is "$(jq '.messages | length' $OUT)" "$(jq .message_count $OUT)" "a case reads back across segments"
run desk-case fsck
json $OUT '.damage' 0 "fsck is clean across segments"
seg=$(ls $DESK_STORE/log | tail -n 1)

# --- a record cut short by a crash is cut off by the next writer ---
printf '{"rec":"message","message_id":99999,"case_i' >> $DESK_STORE/log/$seg
run desk-case fsck
rc 0 "a torn last line: fsck exit 0"
like $ERR 'note: a writer stopped mid-batch: applied 0 records .* cut 4[0-9] bytes' "and reports the cut"
tail -c 1 $DESK_STORE/log/$seg | od -c | grep -q '\\n'; ok $? "the log ends with a whole record again"

# --- records written but not committed are rolled forward ---
last=$(tail -n 1 $DESK_STORE/log/$seg)
next=$(jq .next.message $DESK_STORE/state)
echo "$last" | jq -c --argjson id $next 'if .rec == "message" then .message_id = $id | .content = "rolled forward" else empty end' > $T/rec
test -s $T/rec; ok $? "built an uncommitted message record"
cat $T/rec >> $DESK_STORE/log/$seg
case_id=$(jq .case_id $T/rec)
run desk-case fsck
like $ERR "applied 1 records" "fsck rolls forward a record that was written but not committed"
run desk-case show $case_id
is "$(jq -r '.messages[-1].content' $OUT)" "rolled forward" "and it is part of its case"

# --- damage is found, and repaired from the log ---
cp -r $DESK_STORE $T/pristine
printf 'XXXX' | dd of=$DESK_STORE/index/cases.slots bs=1 seek=200 conv=notrunc 2> /dev/null
run desk-case fsck
rc 1 "a damaged slot: fsck exit 1"
like $ERR "fsck: .*case" "and names what is wrong"
run desk-case fsck --repair
rc 0 "fsck --repair: exit 0"
json $OUT '[.damage,.repaired]' '[0,true]' "repaired"
run desk-case fsck
rc 0 "fsck after repair: clean"

rm $DESK_STORE/index/keys.hx
run desk-case fsck
rc 1 "the hash index deleted: fsck exit 1"
run desk-case fsck --repair
rc 0 "rebuilt"
runin "$(msg u1 "after rebuild")" desk-case
json $OUT '[.user_id,.trigger]' '[1,"updated"]' "lookups work after the rebuild"

# A record in the middle of the log damaged: moved to rejects/, the rest kept.
rm -rf $DESK_STORE; cp -r $T/pristine $DESK_STORE
f=$DESK_STORE/log/00000001.jsonl
line=$(grep -n '"rec":"message"' $f | sed -n 2p | cut -d: -f1)
awk -v n=$line 'NR == n { gsub(/"/, "#") } { print }' $f > $T/f && cat $T/f > $f
run desk-case fsck
rc 1 "a damaged log record: fsck exit 1"
like $ERR "log/00000001.jsonl: offset [0-9]+: " "named by segment and offset"
run desk-case fsck --repair
rc 0 "fsck --repair: exit 0"
like $ERR "moved the damaged record .* to rejects/log-00000001-" "it is moved to rejects/"
run desk-case fsck
json $OUT '.damage' 0 "clean afterwards"
ls $DESK_STORE/rejects/log-* > /dev/null; ok $? "the damaged bytes are kept"

# A file left in tmp/ by a process that is gone.
echo junk > $DESK_STORE/tmp/999999.7
run desk-case fsck
like $ERR "note: tmp/999999.7 was left by a process that is gone" "fsck notes a stale tmp file"
run desk-case fsck --repair
test ! -e $DESK_STORE/tmp/999999.7; ok $? "--repair removes it"

# --- DESK_NOW ---
DESK_NOW=1700000000 runin "$(msg t1 x)" desk-case
run desk-case show "$(jq .case_id $T/out 2>/dev/null || echo 1)"
DESK_NOW=1700000000 runin "$(msg t2 x)" desk-case
cid=$(jq .case_id $OUT)
run desk-case show $cid
json $OUT '.created_at' '"2023-11-14T22:13:20Z"' "DESK_NOW in Unix seconds"
DESK_NOW=2026-01-02T03:04:05+03:00 runin "$(msg t3 x)" desk-case
run desk-case show "$(jq .case_id $OUT)"
json $OUT '.created_at' '"2026-01-02T00:04:05Z"' "DESK_NOW in RFC 3339 with an offset, printed in UTC"
DESK_NOW=yesterday runin "$(msg t4 x)" desk-case
rc 78 "a bad DESK_NOW: exit 78"
like $ERR "DESK_NOW: not an RFC 3339 time or Unix seconds: yesterday" "and says why"

done_testing
