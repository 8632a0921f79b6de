#!/bin/sh
# Guessing codes is limited per channel and per store, not only per user, so
# rotating user_custom_ids buys nothing; a failed attempt costs one small
# ident record, not a new copy of the user; fsck checks what is derived.
. "$(dirname "$0")/lib.sh"

with_channel tg sync
with_channel mail async
users() { grep -h '"rec":"user"' $DESK_STORE/log/*.jsonl | wc -l | tr -d ' '; }
idents() { grep -h '"rec":"ident"' $DESK_STORE/log/*.jsonl | jq -s -c "$1"; }
guesses() { # guesses CHANNEL PREFIX N: N fresh users each send one wrong code
	awk -v ch="$1" -v p="$2" -v n="$3" 'BEGIN { for (i = 1; i <= n; i++)
		printf "{\"channel\":\"%s\",\"user_custom_id\":\"%s%d\",\"id\":\"%s%d\",\"content\":\"d_%06d_zz\"}\n",
		ch, p, i, p, i, i }' | tr 0-9 A-HJ-K > $T/guesses
	run sh -c "desk-case < $T/guesses | desk-identify"
}
say() { # say UCID ID TEXT: one message on tg
	printf '{"channel":"tg","user_custom_id":"%s","id":"%s","content":"%s"}\n' "$1" "$2" "$3" > $T/msg
	run sh -c "desk-case < $T/msg | desk-identify"
}

run desk-identify code --email owner@example.org
good=$(jq -r .code $OUT)

# --- 200 guesses from 200 fresh users on one channel, the clock pinned ---
u0=$(users)
guesses tg g 200
rc 0 "200 guesses: exit 0"
is "$(jq -r .identification $OUT | sort | uniq -c | tr -s ' ' | tr '\n' ';')" " 200 invalid;" \
	"every guess is invalid"
is "$(idents '[.[] | select(.reason == "throttled")] | length')" 170 \
	"after 30 failures on the channel (30/60 s), the other 170 are throttled"
is "$(idents '[.[] | select(.reason == "throttled") | .code_id] | unique')" '[null]' \
	"a throttled attempt does not even look the code up"
is "$(( $(users) - u0 ))" 200 "one user record per new user, none per failed attempt"

# a valid code, presented while the channel's budget is spent
say fresh f1 "my code $good"
json $OUT '[.identification,.user_identified]' '["invalid",false]' \
	"a valid code after the budget is spent: invalid"
is "$(idents 'map(select(.event_id == "'$(jq .message_id $OUT)'")) | .[0].reason')" '"throttled"' \
	"recorded with reason throttled"
cp $DESK_STORE/log/00000001.jsonl $T/before
guesses tg g 1
json $OUT '[.identification,.duplicate]' '["invalid",true]' "a replay gets the first answer"
cmp -s $T/before $DESK_STORE/log/00000001.jsonl; ok $? "and writes nothing, so spends no budget"

# another channel has its own budget
guesses mail m 1
is "$(idents '.[-1].reason')" '"unknown"' "another channel is not throttled"

# a minute later the budget is back, and the code was not used up
DESK_NOW=2026-11-21T09:01:00Z say fresh f2 "my code $good"
json $OUT '[.identification,.user_identified]' '["valid",true]' "a minute later the valid code works"

# --- the store's budget holds across channels ---
DESK_NOW=2026-11-21T12:00:00Z DESK_IDENT_LIMITS=100/60,40/60 guesses tg s 25
DESK_NOW=2026-11-21T12:00:00Z DESK_IDENT_LIMITS=100/60,40/60 guesses mail t 25
is "$(idents '[.[] | select(.at == "2026-11-21T12:00:00Z" and .reason == "throttled")] | length')" 10 \
	"DESK_IDENT_LIMITS=100/60,40/60: 40 failures in the store, then throttled"
DESK_IDENT_LIMITS=30 run desk-identify < /dev/null
rc 78 "a bad DESK_IDENT_LIMITS: exit 78"
like $ERR 'DESK_IDENT_LIMITS' "naming it"

# --- the per-user lockout, now kept in ident records ---
DESK_NOW=2026-11-21T13:00:00Z; export DESK_NOW
u0=$(users)
for i in 1 2 3 4 5 6; do say lock l$i "d_QQQQQ${i}_zz"; done
uid=$(jq .user_id $OUT)
is "$(( $(users) - u0 ))" 1 "six failures of one user: one user record (the new user)"
run desk-identify user show $uid
json $OUT '[.ident_failures,.ident_locked_at]' '[6,"2026-11-21T13:00:00Z"]' \
	"user show: the failures and the lockout"
is "$(idents 'map(select(.user_id == '$uid')) | map([.failures, .locked_at != null])')" \
	'[[1,false],[2,false],[3,false],[4,false],[5,true],[6,true]]' \
	"each failure records the count and, once locked, the lockout"
run desk-identify user update $uid --name "Renamed"
json $OUT '[.name,.ident_failures,.ident_locked_at]' '["Renamed",6,"2026-11-21T13:00:00Z"]' \
	"a new version of the user keeps them"
say lock l7 "$good"
is "$(idents '.[-1] | [.reason, .failures]')" '["used",7]' "and the next failure counts on"

# --- fsck checks the derived state against the log; --repair rebuilds it ---
run desk-case fsck
json $OUT '.damage' 0 "fsck is clean"
cp $DESK_STORE/index/users.slots $T/slots
sed -i 's/"reason":"used","failures":7,/"reason":"used","failures":4,/' $DESK_STORE/log/00000001.jsonl
run desk-case fsck
rc 1 "a log that says 4 failures where the slot has 7: fsck finds damage"
like $ERR "user $uid: .*failures" "naming the user and the failures"
sed -i 's/"reason":"used","failures":4,/"reason":"used","failures":7,/' $DESK_STORE/log/00000001.jsonl
cp $DESK_STORE/log/00000001.jsonl $T/log
sed -i '/"reason":"used"/s/\("tat_store":[0-9]*\)[0-9],/\19,/' $DESK_STORE/log/00000001.jsonl
cmp -s $T/log $DESK_STORE/log/00000001.jsonl; ok $((!$?)) "(a throttle's time changed in the log)"
run desk-case fsck
like $ERR "throttle of the store disagrees" "fsck finds a throttle that disagrees with the log"
cp $T/log $DESK_STORE/log/00000001.jsonl
rm $DESK_STORE/index/users.slots
run desk-case fsck --repair
json $OUT '.repaired' true "fsck --repair rebuilds a lost users.slots"
cmp -s $T/slots $DESK_STORE/index/users.slots; ok $? "byte for byte the same"
run desk-case fsck
json $OUT '.damage' 0 "and fsck is clean after it"
DESK_NOW=2026-11-21T09:00:10Z say fresh2 f3 "d_ABCDEF_gh"
json $OUT '.identification' '"invalid"' "the throttle state survives a rebuild"
is "$(idents '.[-1].reason')" '"throttled"' "(throttled, at 09:00:10)"

# --- a store written before ident records counted: failures on the user ---
DESK_NOW=2026-11-21T14:00:00Z; export DESK_NOW
run desk-identify code --email legacy@example.org
old=$(jq -r .code $OUT)
say legacy lg0 "hi"
luid=$(jq .user_id $OUT)
seg=$(ls $DESK_STORE/log/*.jsonl | tail -n 1)
grep -h '"rec":"user"' $DESK_STORE/log/*.jsonl | jq -c "select(.user_id == $luid)" | tail -n 1 |
	jq -c '. + {ident_failures: 5, ident_locked_at: "2026-11-21T14:00:00Z"}' > $T/legacy
cat $T/legacy >> $seg
say legacy lg1 "$old"
json $OUT '.identification' '"invalid"' "an old store's lockout on the user record still holds"
is "$(idents '.[-1] | [.reason, .failures]')" '["locked",6]' "and its count goes on from there"
DESK_NOW=2026-11-21T14:00:01Z
run desk-identify code --email legacy@example.org
DESK_NOW=2026-11-21T14:00:01Z say legacy lg2 "$(jq -r .code $OUT)"
json $OUT '.identification' '"valid"' "a code issued after it works"
run desk-identify user show $luid
json $OUT '[.ident_failures,.ident_locked_at,.identified]' '[0,null,true]' "and the lockout is lifted"
grep -h '"rec":"user"' $DESK_STORE/log/*.jsonl | jq -c "select(.user_id == $luid)" | tail -n 1 > $T/u
json $T/u 'has("ident_failures")' false "the old fields leave the user record"
run desk-case fsck
json $OUT '.damage' 0 "fsck is clean"

done_testing
