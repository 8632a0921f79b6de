#!/bin/sh
# desk-identify: codes, recognising them in chats, linking, and the rules
# that keep codes secret and unguessable.
. "$(dirname "$0")/lib.sh"
# The per-channel and per-store throttles have their own test (t0212); here
# they are out of the way of the per-user and per-code limits.
DESK_IDENT_LIMITS=1000000/1,1000000/1; export DESK_IDENT_LIMITS

with_channel tg sync
with_channel site async
CODES=$T/codes          # every code issued, to look for them in clear later
code() { desk-identify code "$@" | tee -a $CODES.json | jq -r .code | tee -a $CODES; }
say() { # say UCID TEXT [ID]: a chat message through desk-case and desk-identify
	printf '{"channel":"tg","user_custom_id":"%s","content":"%s"%s}\n' "$1" "$2" \
		"${3:+,\"id\":\"$3\"}" > $T/msg
	run sh -c "desk-case < $T/msg | desk-identify"
}
ident() { jq -c '[.user_identified, .identification, .account_user_id]' $OUT; }

# --- desk-identify code ---
run desk-identify code --email ann@example.org --field tariff=VIP
rc 0 "code: exit 0"
json $OUT 'keys' '["code","expires_at"]' "code: prints code and expires_at"
json $OUT '.expires_at' '"2026-11-21T09:05:00Z"' "code: valid 300 s by default"
jq -r .code $OUT >> $CODES
like $OUT '"code":"d_[A-HJ-NP-Z2-9]{6}_[a-hjkmnp-z]{2}"' "code: the shape d_XXXXXX_xx"
run desk-identify code --phone '+7 900 123-45-67' --ttl 60
json $OUT '.expires_at' '"2026-11-21T09:01:00Z"' "--ttl"
jq -r .code $OUT >> $CODES
run desk-identify code --name "No key"
rc 64 "a code bound to nothing: exit 64"
like $ERR "bound to an email, a phone, or a channel and user_custom_id" "and says so"
run desk-identify code --channel nope --user-custom-id x
rc 78 "a code for an unknown channel: exit 78, as everywhere"
run desk-identify code --email not-an-address
rc 64 "a code for a bad email: exit 64"
run desk-identify code --channel site
rc 64 "channel without user_custom_id: exit 64"
run desk-identify code --email a@b.org --ttl 0
rc 64 "--ttl 0: exit 64"

# 2,000 codes: distinct, in the alphabet, nothing easy to misread
awk 'BEGIN { for (i = 1; i <= 2000; i++) printf "{\"type\":\"ident.request\",\"id\":\"r%d\",\"email\":\"u%d@example.org\"}\n", i, i }' > $T/req
run desk-identify code $T/req
rc 0 "a stream of 2,000 ident.request events: exit 0"
jq -r .code $OUT > $T/many
cat $T/many >> $CODES
is "$(sort -u $T/many | wc -l | tr -d ' ')" 2000 "2,000 distinct codes"
is "$(grep -c '[0O1lIiLo]' $T/many | sed 's/[^0-9]//g'; true)" "$(grep -c 'L' $T/many)" \
	"no 0, O, 1, l, I, i or o anywhere (L only in the upper part)"
is "$(grep -Evc '^d_[A-HJ-NP-Z2-9]{6}_[a-hjkmnp-z]{2}$' $T/many || true)" 0 "all of the shape"
is "$(cut -c3-8 $T/many | fold -w1 | sort -u | wc -l | tr -d ' ')" 32 "all 32 upper symbols occur"
json $OUT 'select(.id=="r7") | [.type, (.code|length)]' '["ident.code",11]' "answers carry the request's id"

cat > $T/req <<'IN'
{"type":"ident.request","id":"ok","channel":"site","user_custom_id":"acct-1","fields":{"tariff":"Standard"}}
{"type":"ident.request","id":"bad","fields":{"tariff":"x"}}
{"type":"ident.request","id":"bad2","email":"x@y.org","fields":"VIP"}
{"type":"message","content":"not a request"}
IN
run desk-identify code $T/req
rc 65 "bad requests in the stream: exit 65"
jq -r .code $OUT >> $CODES
json $OUT '.id' '"ok"' "the good request is answered"
json $ERR '[.line,.field]' '[2,"email"]
[3,"fields"]
[4,"type"]' "each bad one is reported"

# --- the filter: not_sent, invalid, valid, identified ---
say tg-1 "hello" m1
json $OUT '[.user_identified,.identification,.case_id]' '[false,"not_sent",1]' "no code in the text: not_sent"
say tg-1 "my code: d_ABCDEF_gh" m2
json $OUT '[.user_identified,.identification]' '[false,"invalid"]' "an unknown code: invalid"
json $OUT '.content' '"my code: d_******_**"' "the code is masked in what is written out"
c1=$(code --email ann@example.org --name "Ann Lee" --company ACME --field tariff=VIP)
say tg-1 "here: $c1 thanks" m3
json $OUT '[.user_identified,.identification,.account_user_id]' '[true,"valid",2]' \
	"a valid code: valid, with the account user"
run desk-identify user show 1
json $OUT '[.identified,.name,.company,.fields.tariff,.linked_users,.account_user_id,.ident_failures]' \
	'[true,"Ann Lee","ACME","VIP",[2],2,0]' "the messenger user is identified, linked, with the bound data"
run desk-identify user show 2
json $OUT '[.emails,.name,.fields.tariff,.linked_users]' '[["ann@example.org"],"Ann Lee","VIP",[1]]' \
	"the account user was created with the binding"
say tg-1 "and now $c1 again" m4
json $OUT '[.user_identified,.identification]' '[true,null]' "an identified user: user_identified, nothing else"
say tg-1 "plain" m5
ident > $T/i; is "$(cat $T/i)" '[true,null,null]' "an identified user's plain message"

# the account user is found, not created, when it exists
say tg-2 "hi"
c2=$(code --email ANN@example.org --field tariff=Standard)
say tg-2 "$c2"
json $OUT '[.identification,.account_user_id]' '["valid",2]' "a code bound to a known email finds that user"
json $OUT '.not_linked.account.reason' '"profiles linked to them have a user_custom_id of channel tg"' \
	"the account is linked to another tg profile already: not linked, and why"
run desk-identify user show 2
json $OUT '[.fields.tariff,.linked_users]' '["Standard",[1]]' \
	"and brings its data up to date, without linking a second tg profile to it"
say tg-3 "hi"
c3=$(code --channel site --user-custom-id acct-9 --name "Site user")
say tg-3 "code $c3"
run desk-identify user show "$(jq .account_user_id $OUT)"
json $OUT '[.custom_ids,.name]' '[[{"channel":"site","user_custom_id":"acct-9"}],"Site user"]' \
	"a code bound to a user_custom_id: that user, created"

# a used code: invalid for anyone
say tg-4 "$c1"
json $OUT '.identification' '"invalid"' "a used code: invalid"

# --- replay changes nothing ---
cp $DESK_STORE/log/00000001.jsonl $T/before
say tg-1 "here: $c1 thanks" m3
json $OUT '[.identification,.account_user_id,.duplicate]' '["valid",2,true]' "a replay answers as the first time"
cmp -s $T/before $DESK_STORE/log/00000001.jsonl; ok $? "and writes nothing"
say tg-4 "$c1"
cp $DESK_STORE/log/00000001.jsonl $T/before
run desk-identify < /dev/null
say tg-1 "my code: d_ABCDEF_gh" m2
json $OUT '.identification' '"invalid"' "replay of an invalid attempt: invalid again"
cmp -s $T/before $DESK_STORE/log/00000001.jsonl; ok $? "without counting another failure"

# --- expiry: DESK_NOW drives it ---
DESK_NOW=2026-11-21T10:00:00Z; export DESK_NOW
c4=$(code --email exp@example.org)
say tg-5 "hi"
DESK_NOW=2026-11-21T10:04:59Z say tg-5 "$c4"
json $OUT '.identification' '"valid"' "299 s after issue: valid"
c5=$(code --email exp2@example.org)
say tg-6 "hi"
DESK_NOW=2026-11-21T10:05:01Z say tg-6 "$c5"
json $OUT '.identification' '"invalid"' "301 s after issue: invalid"
c5b=$(code --email exp3@example.org)
say tg-6b "hi"
DESK_NOW=2026-11-21T10:05:00Z say tg-6b "$c5b"
json $OUT '.identification' '"invalid"' "300 s after issue: expired"

# --- consecutive failures lock a user out; only a new code works ---
old=$(code --email lock@example.org)
say tg-7 "hi"
for i in 1 2 3 4 5; do say tg-7 "try d_QQQQQ${i}_zz"; done
json $OUT '.identification' '"invalid"' "five wrong codes"
run desk-identify user show "$(jq .user_id $OUT)"
json $OUT '[.ident_failures, .ident_locked_at]' '[5,"2026-11-21T10:00:00Z"]' "the user is locked out"
say tg-7 "$old"
json $OUT '.identification' '"invalid"' "then a code issued before the lockout is invalid"
DESK_NOW=2026-11-21T10:00:01Z; export DESK_NOW
new=$(code --email lock@example.org)
say tg-7 "$new"
json $OUT '.identification' '"valid"' "a code issued after it works"
run desk-identify user show "$(jq .user_id $OUT)"
json $OUT '[.ident_failures, .ident_locked_at, .identified]' '[0,null,true]' "and the lockout is lifted"

# --- at most 5 attempts per code ---
# $old was presented once by the locked-out user; four more locked-out users
for u in a b c d; do
	say lk-$u "hi"
	for i in 1 2 3 4 5; do say lk-$u "d_WWWWW${i}_zz"; done
	say lk-$u "$old"
done
json $OUT '.identification' '"invalid"' "attempt 5 on the old code (locked user)"
say free "hi"
say free "$old"
json $OUT '.identification' '"invalid"' "attempt 6 fails even for a user in good standing"
grep '"rec":"ident"' $DESK_STORE/log/*.jsonl | jq -s -c --argjson id \
	"$(grep '"rec":"ident"' $DESK_STORE/log/*.jsonl | jq -s 'map(select(.attempt == 6)) | .[0].code_id')" \
	'map(select(.code_id == $id) | [.attempt, .reason])' > $T/att
is "$(cat $T/att)" '[[1,"locked"],[2,"locked"],[3,"locked"],[4,"locked"],[5,"locked"],[6,"attempts"]]' \
	"each attempt is recorded with its count and reason"

# --- the same code from 20 processes at once: exactly one valid ---
race=$(code --email race@example.org)
for i in $(seq 1 20); do
	printf '{"channel":"tg","user_custom_id":"race-%s","content":"hi"}\n' $i | desk-case > /dev/null
done
for i in $(seq 1 20); do
	printf '{"channel":"tg","user_custom_id":"race-%s","content":"%s"}\n' $i "$race" > $T/race.$i
	(desk-case < $T/race.$i | desk-identify > $T/raced.$i) &
done
wait
is "$(cat $T/raced.* | jq -r .identification | sort | uniq -c | tr -s ' ' | tr '\n' ';')" " 19 invalid; 1 valid;" \
	"20 processes, one code: exactly one valid"

# --- verify ---
c6=$(code --phone '+1 555 0100')
run desk-identify verify --channel tg --user-custom-id v1 "$c6"
rc 0 "verify of a valid code: exit 0"
json $OUT '[.user_identified,.identification]' '[true,"valid"]' "verify: valid"
run desk-identify verify --channel tg --user-custom-id v2 "$c6"
rc 1 "verify of a used code: exit 1"
json $OUT '.identification' '"invalid"' "verify: invalid"
run desk-identify verify --channel tg --user-custom-id v2 "hello"
rc 1 "verify of something that is not a code: exit 1"
json $OUT '.identification' '"not_sent"' "verify: not_sent"

# --- other events pass through, in order; events not from desk-case too ---
printf '%s\n' '{"type":"reply","case_id":1,"content":"x"}' '{"channel":"tg","content":"no user_id"}' \
	'{"type":"delivery"}' > $T/in
run desk-identify $T/in
rc 0 "pass-through: exit 0"
is "$(jq -c . $T/in | md5sum)" "$(md5sum < $OUT)" "other events pass through untouched, in order"
printf '%s\n' '{"channel":"tg","user_custom_id":"x","user_id":9999,"content":"hi"}' > $T/in
run desk-identify $T/in
rc 65 "an unknown user_id: exit 65"

# --- users ---
run desk-identify user update 1 --field 'tariff=Standard' --field 'score:=7' --company "ACME Ltd"
rc 0 "user update: exit 0"
json $OUT '[.fields,.company]' '[{"score":7,"tariff":"Standard"},"ACME Ltd"]' "user update sets fields"
site() { # site UCID: a message on channel site; its user_id
	printf '{"channel":"site","user_custom_id":"%s","content":"hi"}\n' "$1" > $T/msg
	desk-case < $T/msg | jq .user_id
}
other=$(site other)
run desk-identify user update $other --email ann@example.org
json $OUT '.linked_users' '[2]' "an email of a user of another channel: linked"
say tg-20 "hi"; tg7=$(jq .user_id $OUT)
run desk-identify user update $tg7 --email ann@example.org
json $OUT '[.linked_users,.not_linked.email.reason]' \
	'[[],"belongs to another user_custom_id of channel tg (through a linked profile)"]' \
	"an email whose owner is linked to another user_custom_id of the same channel: not linked"
run desk-identify user update $other --phone '+44 20 7946 0000'
say third "hi"; third=$(jq .user_id $OUT)
run desk-identify user update $third --phone '+44 20 7946 0000'
json $OUT '.not_linked.phone.reason' '"belongs to another user_custom_id of channel tg (through a linked profile)"' \
	"a phone of a user linked to another user_custom_id of the same channel: not linked, and why"
run desk-identify user link $third $tg7
rc 1 "link of two users with user_custom_ids on the same channel: exit 1"
like $ERR "both users have a user_custom_id of channel tg" "and says why"
run desk-identify user link $third $other
rc 1 "link to a user linked to another user_custom_id of the same channel: exit 1"
like $ERR "profiles linked to them have a user_custom_id of channel tg" "and says why"
solo=$(site solo)
run desk-identify user link $third $solo
rc 0 "link: exit 0"
json $OUT ".linked_users | index($solo) != null" 'true' "linked"
run desk-identify user unlink $third $solo
rc 0 "unlink: exit 0"
json $OUT ".linked_users | index($solo)" 'null' "unlinked"
run desk-identify user unlink $third $solo
rc 1 "unlink of users not linked: exit 1"
run desk-identify user show 99999
rc 1 "user show of no such user: exit 1"

# user.update events, in bulk
cat > $T/upd <<'IN'
{"type":"user.update","user_id":3,"fields":{"tariff":"VIP"}}
{"type":"user.update","channel":"site","user_custom_id":"acct-9","fields":{"tariff":"Gold"},"name":"Renamed"}
{"type":"user.update","email":"ann@example.org","fields":{"tariff":"Platinum"}}
{"type":"user.update","email":"nobody@example.org","fields":{"tariff":"x"}}
{"type":"user.update","user_id":1,"fields":"VIP"}
IN
run desk-identify $T/upd
rc 65 "user.update stream with two bad events: exit 65"
json $OUT '[.user_id, .fields.tariff]' '[3,"VIP"]
[5,"Gold"]
[2,"Platinum"]' "updates by user_id, by channel and user_custom_id, by email"
json $ERR '[.line,.reason]' '[4,"email: no user has it"]
[5,"must be an object"]' "unknown users and bad fields are rejected"
run desk-identify user show 2
json $OUT '[.emails, .fields.tariff]' '[["ann@example.org"],"Platinum"]' "an email that selects the user is not added twice"
cp $DESK_STORE/log/00000001.jsonl $T/before
run desk-identify $T/upd
cmp -s $T/before $DESK_STORE/log/00000001.jsonl; ok $? "replaying updates writes nothing"

# --- no code in clear, anywhere ---
printf '{"channel":"nope","user_custom_id":"x","content":"leak %s?"}\n' "$c6" > $T/bad
run desk-case $T/bad
rc 65 "a message with a code, rejected"
grep -rlF -f $CODES $DESK_STORE > $T/leaks || true
is "$(wc -l < $T/leaks | tr -d ' ')" 0 "no issued code appears anywhere in the store (log, index, rejects)"
# Found by its content: the names sort by stamp and pid, and a pid of
# fewer digits sorts after a newer one's.
raw=$(grep -lF '"channel":"nope"' $DESK_STORE/rejects/*.raw | tail -n 1)
test -s "$raw"; ok $? "the message was quarantined"
grep -c 'd_\*\*\*\*\*\*_\*\*' "$raw" > $T/n || true
is "$(cat $T/n)" 1 "the quarantined bytes have the code masked"
is "$(stat -c %a $DESK_STORE/secrets/ident.key)" 600 "the store secret is 0600"
is "$(stat -c %s $DESK_STORE/secrets/ident.key)" 32 "and 32 bytes"
run desk-case fsck
json $OUT '.damage' 0 "fsck is clean"

done_testing
