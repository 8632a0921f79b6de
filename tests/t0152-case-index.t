#!/bin/sh
# The case indexes (desk-store(5)): list --user, --user-custom-id, --limit,
# --status, --channel and --active-only, alone and together, give what the
# log says (a jq oracle over the log, the answer the old scan of every case
# slot gave), through the user's chain, the status lists, the channels'
# chains and the log read backwards; the other cases' slots are never read
# (one of them damaged does not matter, and the reads are counted, flat as
# the store grows); a store without the indexes is refused until fsck
# --repair builds them, and so is one without the channels' chains.
. "$(dirname "$0")/lib.sh"

with_channel app sync
with_channel web
# 400 messages from 60 users on two channels.
awk 'BEGIN { for (i = 1; i <= 400; i++) printf "{\"channel\":\"%s\",\"user_custom_id\":\"u%d\",\"id\":\"a%d\",\"content\":\"m %d\"}\n", (i % 3 ? "app" : "web"), (i * 7) % 60, i, i }' > $T/in1
run desk-case $T/in1
rc 0 "400 messages stored"
ncases=$(desk-case list | wc -l)
# Statuses moved around: some closed (their users' next message opens a new
# case), some pending, some pending then open again, one merged.
for c in 3 5 8 13 21 34 40; do desk-case set $c --status closed > /dev/null; done
for c in 2 7 11 30; do desk-case set $c --status pending > /dev/null; done
for c in 7 30; do desk-case set $c --status open > /dev/null; done
desk-case set 30 --status pending > /dev/null
desk-case set 9 --subject "no status change" > /dev/null
awk 'BEGIN { for (i = 1; i <= 200; i++) printf "{\"channel\":\"%s\",\"user_custom_id\":\"u%d\",\"id\":\"b%d\",\"content\":\"n %d\"}\n", (i % 2 ? "app" : "web"), (i * 11) % 60, i, i }' > $T/in2
run desk-case $T/in2
rc 0 "200 more messages"
[ "$(desk-case list | wc -l)" -gt "$ncases" ]; ok $? "(new cases for the users whose cases were closed)"
u=$(desk-case show 13 | jq .user_id)
run desk-case merge 13 $(desk-case list --user $u | jq -s 'map(.case_id) | map(select(. != 13)) | .[0]')
rc 0 "(case 13, closed, merged into its user's newer case)"
run desk-case fsck
rc 0 "fsck: the indexes are what the log derives"

oracle_cases
# u1: a user with the most cases; u2: one with a closed case and a newer one.
u2=$(jq 'map(select(.merged | not)) | group_by(.user_id) | map(select(length > 1 and any(.status == "closed"))) | .[0][0].user_id' $T/cases)
u1=$(jq "map(select((.merged | not) and .user_id != $u2)) | group_by(.user_id) | max_by(length) | .[0].user_id" $T/cases)
oracle_check "--user: the user's cases, newest activity first" ".user_id == $u1 and (.merged | not)" -- --user $u1
oracle_check "--user with a closed case and a newer one" ".user_id == $u2 and (.merged | not)" -- --user $u2
oracle_check "--user of two users" "(.user_id == $u1 or .user_id == $u2) and (.merged | not)" -- --user $u1,$u2
oracle_check "--user --merged" ".user_id == $u" -- --user $u --merged
oracle_check "--user --status closed" ".user_id == $u2 and .status == \"closed\" and (.merged | not)" -- --user $u2 --status closed
uw=$(jq -r 'map(select(.channel == "web")) | .[0].user_id' $T/cases)
oracle_check "--user --channel web" ".user_id == $uw and .channel == \"web\" and (.merged | not)" -- --user $uw --channel web
x=$(desk-case show 8 | jq .user_id)
ucid=$(jq -r "select(.rec == \"user\" and .user_id == $x) | .custom_ids[0].user_custom_id" $DESK_STORE/log/*.jsonl | tail -n 1)
jq -s -c --arg u "$ucid" '[.[] | select(.rec == "user" and any(.custom_ids[]; .user_custom_id == $u)) | .user_id] | unique' $DESK_STORE/log/*.jsonl > $T/ux
oracle_check "--user-custom-id (a user on each channel)" "(.user_id | IN($(jq -r 'join(",")' $T/ux))) and (.merged | not)" -- --user-custom-id "$ucid"
[ "$(jq length $T/ux)" -eq 2 ]; ok $? "(two users have $ucid, one on each channel)"
oracle_check "--user --limit 1: the last chat (the seed's call)" ".user_id == $u2 and (.merged | not)" 1 -- --user $u2 --active-chats --limit 1
oracle_check "--limit 1" "(.merged | not)" 1 -- --limit 1
oracle_check "--limit 10" "(.merged | not)" 10 -- --limit 10
oracle_check "--limit 10 --merged" "true" 10 -- --limit 10 --merged
oracle_check "--limit 5 --channel web" ".channel == \"web\" and (.merged | not)" 5 -- --limit 5 --channel web
oracle_check "--status pending" ".status == \"pending\" and (.merged | not)" -- --status pending
oracle_check "--status open,closed" "(.status == \"open\" or .status == \"closed\") and (.merged | not)" -- --status open,closed
oracle_check "--status closed --limit 3" ".status == \"closed\" and (.merged | not)" 3 -- --status closed --limit 3
oracle_check "--status pending --channel app" ".status == \"pending\" and .channel == \"app\" and (.merged | not)" -- --status pending --channel app
oracle_check "--active-only: open or pending on the sync channel" "(.status == \"open\" or .status == \"pending\") and .channel == \"app\" and (.merged | not)" -- --active-only
oracle_check "--channel web" ".channel == \"web\" and (.merged | not)" -- --channel web
oracle_check "--channel app,web" "(.merged | not)" -- --channel app,web
oracle_check "--channel web --limit 3" ".channel == \"web\" and (.merged | not)" 3 -- --channel web --limit 3
oracle_check "--channel web --merged" ".channel == \"web\"" -- --channel web --merged
oracle_check "--status open --channel web" ".status == \"open\" and .channel == \"web\" and (.merged | not)" -- --status open --channel web
oracle_check "--status closed --channel app --limit 2" ".status == \"closed\" and .channel == \"app\" and (.merged | not)" 2 -- --status closed --channel app --limit 2
oracle_check "--status open,pending --limit 4" "(.status == \"open\" or .status == \"pending\") and (.merged | not)" 4 -- --status open,pending --limit 4
oracle_check "--active-only --limit 2" "(.status == \"open\" or .status == \"pending\") and .channel == \"app\" and (.merged | not)" 2 -- --active-only --limit 2
oracle_check "--active-only --channel app --status pending" ".status == \"pending\" and .channel == \"app\" and (.merged | not)" -- --active-only --channel app --status pending
c1=$(jq -r "map(select(.user_id == $u1)) | .[0].channel" $T/cases)
oracle_check "--user --channel --limit 1" ".user_id == $u1 and .channel == \"$c1\" and (.merged | not)" 1 -- --user $u1 --channel $c1 --limit 1
oracle_check "every case" "(.merged | not)" -- 

# --- the status lists, in the order the cases entered their status ---
run desk-case list --status pending
json $OUT 'select(.case_id == 30) | .status' '"pending"' "(case 30: pending, open, pending again)"
python3 - $DESK_STORE/index/lists.slots $DESK_STORE/index/caselinks.slots > $T/walk <<'EOF'
import struct, sys
lists, links = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read()
def words(b, i): return struct.unpack('<5Q', b[i * 64 + 16:i * 64 + 56])
head = words(lists, 2)[0]
out, at = [], head
while at:
    out.append(at)
    at = words(links, at)[2]
print(' '.join(map(str, out)))
EOF
is "$(cat $T/walk)" "2 11 30" "the pending list: 30 last, where it entered pending the second time, not where it first did"

# --- only the cases asked for are read: the rest may even be damaged ---
far=$(oracle_expect ".user_id != $u2 and .status == \"open\" and (.merged | not)" | tail -n 1)
cp $DESK_STORE/index/cases.slots $T/cases.slots
python3 -c "
f = open('$DESK_STORE/index/cases.slots', 'r+b'); f.seek($far * 64 + 20); f.write(b'XXXX')"
run desk-case list
rc 74 "(the scan of every case slot meets the damaged slot of case $far)"
run desk-case list --user $u2
rc 0 "list --user does not read case $far's slot"
run desk-case list --limit 3
rc 0 "list --limit 3 does not read it"
run desk-case list --status pending
rc 0 "list --status pending does not read it"
run desk-case list --channel web
rc 0 "list --channel web does not read it"
cp $T/cases.slots $DESK_STORE/index/cases.slots

# ... and the reads are few, however many cases the store has.
if command -v strace > /dev/null; then
	# 100 new users first, so that the log ends alike in both stores.
	awk 'BEGIN { for (i = 1; i <= 5100; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"x%d\",\"id\":\"c%d\",\"content\":\"m %d\"}\n", i, i, i }' > $T/in3
	head -n 100 $T/in3 | desk-case > /dev/null
	small_user=$(list_preads --user $u2)
	small_limit=$(list_preads --limit 3)
	small_status=$(list_preads --status pending)
	small_chan=$(list_preads --channel web)
	small_chan_limit=$(list_preads --channel web --limit 2)
	small_status_chan=$(list_preads --status open --channel web)
	small_status_limit=$(list_preads --status open --limit 2)
	small_active=$(list_preads --active-only --status pending --limit 2)
	run desk-case $T/in3
	rc 0 "(5,000 more users, one case each)"
	big_user=$(list_preads --user $u2)
	big_limit=$(list_preads --limit 3)
	big_status=$(list_preads --status pending)
	big_chan=$(list_preads --channel web)
	big_chan_limit=$(list_preads --channel web --limit 2)
	big_status_chan=$(list_preads --status open --channel web)
	big_status_limit=$(list_preads --status open --limit 2)
	big_active=$(list_preads --active-only --status pending --limit 2)
	[ "$big_user" -le $((small_user + 4)) ]; ok $? "list --user: $small_user preads, $big_user with 5,000 more cases"
	[ "$big_limit" -le $((small_limit + 4)) ]; ok $? "list --limit 3: $small_limit preads, $big_limit with 5,000 more cases"
	[ "$big_status" -le $((small_status + 4)) ]; ok $? "list --status pending: $small_status preads, $big_status with 5,000 more cases"
	# (the channel web has none of the new cases; the open list has all)
	[ "$big_chan" -le $((small_chan + 4)) ]; ok $? "list --channel web: $small_chan preads, $big_chan with 5,000 more cases"
	[ "$big_chan_limit" -le $((small_chan_limit + 4)) ]; ok $? "list --channel web --limit 2: $small_chan_limit preads, $big_chan_limit with 5,000 more cases"
	[ "$big_status_chan" -le $((small_status_chan + 4)) ]; ok $? "list --status open --channel web: $small_status_chan preads, $big_status_chan with 5,000 more open cases"
	[ "$big_status_limit" -le $((small_status_limit + 4)) ]; ok $? "list --status open --limit 2: $small_status_limit preads, $big_status_limit with 5,000 more open cases"
	[ "$big_active" -le $((small_active + 4)) ]; ok $? "list --active-only --status pending --limit 2: $small_active preads, $big_active with 5,000 more on the sync channel"
	[ "$(list_preads --status open)" -gt 5000 ]; ok $? "(while a list of 5,000 cases reads each)"
	[ "$(list_preads --channel app)" -gt 5000 ]; ok $? "(and a chain of 5,000 cases too)"
	desk-case list --status open | head -n 2 > $T/want
	desk-case list --status open --limit 2 > $T/got
	cmp -s $T/got $T/want; ok $? "--status open --limit 2 with 5,000 open cases: what the whole list says"
	desk-case list --channel web --status open | head -n 2 > $T/want
	desk-case list --channel web --status open --limit 2 > $T/got
	cmp -s $T/got $T/want; ok $? "--channel web --status open --limit 2: what the whole chain says"
else
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13; do pass "# SKIP no strace"; done
fi

# --- a store written before the channels' chains: lists.slots without its
# slot 4, the mark, as an older desk left it ---
cp -r $DESK_STORE $T/chained
truncate -s 256 $DESK_STORE/index/lists.slots
for a in "--channel web" "--channel web --limit 1" "--status open --channel app" "--active-only"; do
	run desk-case list $a
	rc 78 "list $a on a store without the channels' chains: exit 78"
done
like $ERR "the store has no channel index \(an older desk wrote it\): run desk-case fsck --repair once" "saying what to do"
run desk-case list --user $u2
rc 0 "list --user needs no chain and works"
run desk-case list --status pending --limit 1
rc 0 "nor does list --status --limit"
printf '{"channel":"web","user_custom_id":"new0","id":"y1","content":"hi"}\n' > $T/one
run desk-case $T/one
rc 0 "a new case in it is stored, and not chained"
run desk-case list --channel web
rc 78 "(still refused)"
run desk-case fsck
rc 1 "fsck finds the chains missing"
like $ERR "status list 4" "naming the mark"
run desk-case fsck --repair
rc 0 "fsck --repair builds them"
run desk-case fsck
rc 0 "then fsck is clean"
web=$(desk-case list --user-custom-id new0 | jq .case_id)
desk-case list --channel web | jq .case_id > $T/got
[ "$(head -n 1 $T/got)" = "$web" ] && [ "$(grep -c . $T/got)" -gt 1 ]; ok $? "--channel web after the repair: case $web, stored meanwhile, first ($(lines $T/got) cases)"
rm -rf $DESK_STORE; cp -r $T/chained $DESK_STORE

# --- a store an older desk wrote: no indexes, refused until --repair ---
rm $DESK_STORE/index/caselinks.slots $DESK_STORE/index/lists.slots
run desk-case list --user $u2
rc 78 "list on a store without the indexes: exit 78"
like $ERR "the store has no case indexes \(an older desk wrote it\): run desk-case fsck --repair once" "saying what to do"
printf '{"channel":"app","user_custom_id":"new1","id":"z1","content":"hi"}\n' > $T/one
run desk-case $T/one
rc 0 "a new case in it is stored, and not indexed"
run desk-case list --limit 1
rc 78 "list --limit is refused too"
run desk-route tick -r /dev/null
run desk-case fsck
rc 1 "fsck finds the indexes missing"
like $ERR "index/lists.slots" "naming the file"
run desk-case fsck --repair
rc 0 "fsck --repair builds them"
run desk-case fsck
rc 0 "then fsck is clean"
oracle_check "--user after the repair" ".user_id == $u2 and (.merged | not)" -- --user $u2
run desk-case list --user-custom-id new1
json $OUT '.case_id' "$(desk-case list --limit 1 | jq .case_id)" "the case stored meanwhile is indexed too"

done_testing
