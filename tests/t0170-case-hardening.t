#!/bin/sh
# What an accepted record may hold, and the seeds' rules where desk-case
# once got them wrong: nothing acknowledged is unreadable, NULs are refused,
# status replays survive merges, user data and links follow the seed.
. "$(dirname "$0")/lib.sh"

with_channel app sync
with_channel mail async
msg() { # msg UCID CONTENT [EXTRA-JSON]: one message event
	printf '{"channel":"app","user_custom_id":"%s","content":"%s"%s}\n' "$1" "$2" "${3:+,$3}"
}
mega() { head -c "$1" /dev/zero | tr '\0' "${2:-x}"; }

# --- every acknowledged record can be read back (item 5) ---
# Two 10 MiB names (or a name and a company) once made a 20 MiB user record.
{ msg big hi "\"name\":\"$(mega 10485760)\""; msg big hi "\"company\":\"$(mega 10485760 y)\""; } > $T/in
run desk-case $T/in
rc 65 "10 MiB names: exit 65"
json $ERR '[.line,.field]' '[1,"name"]
[2,"company"]' "each rejected, naming the field"
like $ERR 'longer than 4096 bytes' "with the limit"
is "$(ls $DESK_STORE/rejects/*.raw | wc -l | tr -d ' ')" 2 "both quarantined"
# Two 10 MiB messages to one user are fine: each message is its own record.
{ msg ten "$(mega 10485760)"; msg ten "$(mega 10485760 z)"; } > $T/in
run desk-case $T/in
rc 0 "two 10 MiB messages: exit 0"
uid=$(jq -s '.[0].user_id' $OUT) cid=$(jq -s '.[1].case_id' $OUT)
run desk-identify user show "$uid"
rc 0 "the user reads back"
run desk-case show "$cid"
rc 0 "the case reads back"
json $OUT '[.messages[].content | length]' '[10485760,10485760]' "with both messages whole"
# A message the next stage of a pipeline could not read is not accepted.
msg long "$(mega 14680065)" > $T/in
run desk-case $T/in
rc 65 "content over 14 MiB: exit 65"
json $ERR '[.field,.reason]' '["content","longer than 14680064 bytes (the limit for this field)"]' "named"
msg long "$(mega 14679000)" '"name":"'"$(mega 4000)"'","subject":"'"$(mega 4000)"'"' > $T/in
run sh -c "desk-case $T/in > $T/long.out"
rc 0 "content just under 14 MiB with a long name and subject: stored"
run desk-identify $T/long.out
rc 0 "and desk-identify reads what desk-case wrote"
json $OUT '.content | length' 14679000 "whole"
# Fields and attachments whose stored form would grow past the limit.
nums=$(awk 'BEGIN { for (i = 0; i < 20000; i++) printf "%s1e15", i ? "," : ""; }')
msg att hi "\"attachments\":[{\"url\":\"https://x/a\",\"sizes\":[$nums]}]" > $T/in
run desk-case $T/in
rc 65 "attachments that grow past their limit when stored: exit 65"
json $ERR '.field' '"attachments"' "named"
fields=$(awk 'BEGIN { for (i = 0; i < 150; i++) printf "%s\"f%d\":1", i ? "," : "", i }')
msg fld hi "\"fields\":{$fields}" > $T/in
run desk-case $T/in
rc 65 "150 fields: exit 65"
json $ERR '[.field,.reason]' '["fields","more than 100 fields"]' "named"
# Fields that accumulate: each message's fit, but together they would not.
awk 'BEGIN { for (i = 0; i < 30; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"acc\",\"content\":\"m\",\"fields\":{\"f%d\":\"%04000d\",\"g%d\":1}}\n", i, 0, i }' > $T/in
run desk-case $T/in
rc 65 "fields that accumulate past the limit: exit 65"
is "$(jq -s 'length' $OUT) $(jq -s 'length' $ERR)" "16 14" "the messages that fit are stored, the rest refused"
json $ERR '.field' "$(jq -n '"fields"' | awk '{ for (i = 0; i < 14; i++) print }')" "each naming fields"
run desk-identify user show "$(jq -s '.[0].user_id' $OUT)"
json $OUT '.fields | length' 32 "the user holds what was accepted"
# user.update that would grow the fields past the limit: refused whole.
acc=$(jq -s '.[0].user_id' $OUT)
cp $DESK_STORE/log/00000001.jsonl $T/before
fields=$(awk 'BEGIN { for (i = 0; i < 80; i++) printf "%s\"u%d\":1", i ? "," : "", i }')
printf '{"type":"user.update","user_id":%s,"fields":{%s}}\n' "$acc" "$fields" > $T/in
run desk-identify $T/in
rc 65 "a user.update past the fields limit: exit 65"
like $ERR '"reason":"fields: more than 100 fields"' "and says why"
cmp -s $T/before $DESK_STORE/log/00000001.jsonl; ok $? "nothing written"
run desk-identify user update "$acc" --name "$(mega 5000)"
rc 65 "user update --name of 5,000 bytes: exit 65"
like $ERR 'name: longer than 4096 bytes' "named"
run desk-case set "$cid" --subject "$(mega 5000)"
rc 65 "case set --subject of 5,000 bytes: exit 65"
mega 16777216 > $T/text
run desk-reply --as-user --user "$uid" --channel app < $T/text
rc 65 "a 16 MiB reply text: exit 65, not an unreadable record"
run desk-case fsck
rc 0 "fsck is clean after all of that"

# --- fsck --repair never says repaired when the store still fails (item 5) ---
cp -r $DESK_STORE $T/broken
# A message of a case that does not exist: rebuilding the index cannot mend it.
printf '{"rec":"message","message_id":999999,"case_id":888888,"content":"x"}\n' >> $T/broken/log/00000001.jsonl
DESK_STORE=$T/broken run desk-case fsck --repair
rc 1 "fsck --repair of damage it cannot mend: exit 1"
json $OUT '[.repaired, .damage > 0]' '[false,true]' "and it does not say repaired"
like $ERR 'not repaired' "and says so"
DESK_STORE=$T/broken run desk-case fsck
rc 1 "the next fsck still fails, as --repair said"

# Damage past the committed point: writers and fsck go on, --repair mends it.
cp -r $DESK_STORE $T/tail
echo 'garbage' >> $T/tail/log/00000001.jsonl
DESK_STORE=$T/tail run desk-case fsck
rc 1 "garbage past the committed point: fsck reports it (exit 1), not dies"
DESK_STORE=$T/tail run desk-case fsck --repair
json $OUT '.repaired' 'true' "and --repair mends it"
python3 -c "
import json; print(json.dumps({'rec':'user','user_id':424242,'custom_ids':[],'name':'x'*(17<<20)},separators=(',',':')))" >> $T/tail/log/00000001.jsonl
msg tail hi > $T/in
DESK_STORE=$T/tail run desk-case $T/in
rc 0 "a record over 16 MiB past the committed point (an older version's): a writer still works"
like $ERR 'over 16 MiB: not applied' "and says so"
DESK_STORE=$T/tail run desk-case fsck --repair
rc 0 "fsck --repair moves it aside"
DESK_STORE=$T/tail run desk-case fsck
rc 0 "and the store passes"
is "$(ls $T/tail/rejects/log-* | wc -l | tr -d ' ')" 2 "both damaged records are kept in rejects/, neither overwritten"
echo 'not json' > $T/tail/channels/bad.json
DESK_STORE=$T/tail run desk-case fsck --repair
json $OUT '.repaired' 'false' "a bad channel file: --repair cannot mend it and does not say it did"
rc 1 "exit 1"
DESK_STORE=$T/tail run desk-case fsck
rc 1 "the next fsck still fails, as --repair said"

# --- NUL in keys and names (item 13) ---
for f in channel email phone name company subject; do
	case $f in channel) ch='"app\u0000x"' ;; *) ch='"app"' ;; esac
	printf '{"channel":%s,"user_custom_id":"nul","content":"hi","%s":"a\\u0000b"}\n' "$ch" "$f" > $T/in
	[ $f = channel ] && printf '{"channel":"app\\u0000x","user_custom_id":"nul","content":"hi"}\n' > $T/in
	run desk-case $T/in
	rc 65 "a NUL in $f: exit 65"
	json $ERR '[.field,.reason]' "[\"$f\",\"contains a NUL character\"]" "a NUL in $f: refused, named"
done
printf '{"type":"status","channel":"app\\u0000x","user_custom_id":"nul"}\n' > $T/in
run desk-case $T/in
json $ERR '[.field,.reason]' '["channel","contains a NUL character"]' "a NUL in a status event's channel: refused, named"
printf '{"channel":"app","user_custom_id":"nul","content":"a\\u0000b"}\n' > $T/in
run desk-case $T/in
rc 0 "a NUL in content: kept"
json $OUT '.content' '"a\u0000b"' "whole"
run desk-case show "$(jq .case_id $OUT)"
json $OUT '.messages[-1].content' '"a\u0000b"' "and stored whole"
# A key is a field's only when all of it is (fuzz-events): "name\u0000" is
# no name, and a NUL in its value is nothing to refuse.
printf '{"channel":"app","user_custom_id":"nul","content":"hi","name\\u0000":"a\\u0000b"}\n' > $T/in
run desk-case $T/in
rc 0 'a NUL under the key "name\u0000": exit 0'
json $OUT '[.name, .["name\u0000"]]' '[null,"a\u0000b"]' "it passes through, and is no name"

# --- a status replay after a merge across channels (item 12) ---
msg st1 "first" > $T/in; run desk-case $T/in; c1=$(jq .case_id $OUT); u=$(jq .user_id $OUT)
printf '{"type":"status","case_id":%s,"id":"close-1"}\n' "$c1" > $T/close
run desk-case $T/close
json $OUT '.case_status' '"closed"' "a status event closes the case"
printf '{"channel":"mail","user_custom_id":"st1m","content":"mail","email":"st1@example.org"}\n' > $T/in
desk-case $T/in > /dev/null
msg st1 "link me" '"email":"st1@example.org"' > $T/in; desk-case $T/in > /dev/null
printf '{"channel":"mail","user_custom_id":"st1m","content":"again"}\n' > $T/in
run desk-case $T/in; c2=$(jq .case_id $OUT)
run desk-case merge "$c1" "$c2"
rc 0 "merge across channels: exit 0"
run desk-case set "$c2" --status open
run desk-case $T/close
json $OUT '[.duplicate, .case_status]' '[true,"closed"]' "the replayed status event is a duplicate"
run desk-case show "$c2"
json $OUT '.status' '"open"' "and changes nothing"
run desk-case fsck
json $OUT '.damage' 0 "fsck agrees with the status event's key"

# --- a merged active chat goes on in a closed survivor (item 21) ---
msg mg "old chat" > $T/in; run desk-case $T/in; old=$(jq .case_id $OUT)
printf '{"type":"status","case_id":%s}\n' "$old" > $T/in; desk-case $T/in > /dev/null
msg mg "new chat" > $T/in; run desk-case $T/in; new=$(jq .case_id $OUT)
isnt "$new" "$old" "a closed chat: the next message opens a new one"
run desk-case merge "$new" "$old"
json $OUT '[.case_id,.status]' "[$old,\"open\"]" "merged into the closed one: the survivor takes the open status"
msg mg "after the merge" > $T/in; run desk-case $T/in
json $OUT '[.case_id,.trigger]' "[$old,\"updated\"]" "the next message goes to the survivor, not to a new case"

# --- user data that comes with a message is recorded (item 18) ---
msg ud hi '"name":"Ann","company":"ACME","fields":{"tariff":"VIP","plan":"x"}' > $T/in
run desk-case $T/in
run desk-identify user show "$(jq .user_id $OUT)"
json $OUT '[.name,.company,.fields]' '["Ann","ACME",{"plan":"x","tariff":"VIP"}]' "name, company and fields are recorded"
msg ud again '"fields":{"plan":null,"tariff":"Standard"}' > $T/in
desk-case $T/in > /dev/null
run desk-identify user show "$(jq .user_id $OUT)"
json $OUT '.fields' '{"tariff":"Standard"}' "fields merge, null removes"
msg ud bad '"fields":"VIP"' > $T/in
run desk-case $T/in
json $ERR '[.field,.reason]' '["fields","must be an object"]' "fields that are not an object: refused"

# --- the help desk API's field names, and its create-case body (item 19) ---
printf '%s\n' '{"channel":"app","user_custom_id":"api1","content":"hi","user_email":"api1@example.org","user_phone":"+1 555 0142","user_full_name":"Api One","company_name":"ACME","custom_fields":{"tariff":"VIP"}}' \
	'{"channel":"app","case":{"user_custom_id":"api2","subject":"Order","content":"hello","user_email":"api2@example.org","user_full_name":"Api Two"}}' > $T/in
run desk-case $T/in
rc 0 "API field names: exit 0"
u1=$(jq -s '.[0].user_id' $OUT) u2=$(jq -s '.[1].user_id' $OUT) c2=$(jq -s '.[1].case_id' $OUT)
run desk-identify user show "$u1"
json $OUT '[.emails,.phones,.name,.company,.fields]' '[["api1@example.org"],["15550142"],"Api One","ACME",{"tariff":"VIP"}]' \
	"user_email, user_phone, user_full_name, company_name, custom_fields are recorded"
run desk-identify user show "$u2"
json $OUT '[.custom_ids[0].user_custom_id,.emails,.name]' '["api2",["api2@example.org"],"Api Two"]' \
	"the API's create-case body {\"case\":{...}} is taken whole"
run desk-case show "$c2"
json $OUT '[.subject,.messages[0].content]' '["Order","hello"]' "with its subject and content"
msg api3 hi '"email":"a@example.org","user_email":"b@example.org"' > $T/in
run desk-case $T/in
rc 65 "two spellings, two values: exit 65"
json $ERR '.field' '"user_email"' "named"
# A name written with an escape is the same name (the bytes cannot say so).
printf '%s\n' '{"channel":"app","user_custom_id":"api4","content":"hi","user\u005femail":"api4@example.org","c\u0061se":{"subject":"Escaped"}}' > $T/in
run desk-case $T/in
rc 0 "API names written with escapes: exit 0"
c4=$(jq .case_id $OUT)
run desk-identify user show "$(jq .user_id $OUT)"
json $OUT '.emails' '["api4@example.org"]' "user\\u005femail is user_email"
run desk-case show "$c4"
json $OUT '.subject' '"Escaped"' "... and c\\u0061se the create-case body"

# --- linked users see one set of bound data (item 17) ---
code=$(desk-identify code --email vip@example.org --field tariff=VIP | jq -r .code)
msg chat "hi" > $T/in; desk-case $T/in > /dev/null
msg chat "$code" > $T/in
run sh -c "desk-case < $T/in | desk-identify"
chat=$(jq .user_id $OUT); acct=$(jq .account_user_id $OUT)
json $OUT '.identification' '"valid"' "the chat user is identified"
printf '{"type":"user.update","email":"vip@example.org","fields":{"tariff":"Standard"}}\n' > $T/in
run desk-identify $T/in
rc 0 "user.update of the account: exit 0"
run desk-identify user show "$chat"
json $OUT '.fields.tariff' '"Standard"' "the chat user sees the account's new tariff"
run desk-identify user update "$chat" --name "Chat Name"
run desk-identify user show "$acct"
json $OUT '.name' '"Chat Name"' "and an update of the chat user reaches the account"
json $OUT '.emails' '["vip@example.org"]' "contacts stay each profile's own"

# --- what accumulates on a case stays bounded; replies are bounded too ---
awk 'BEGIN { for (i = 0; i < 40; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"ext\",\"content\":\"m\",\"external\":{\"k%d\":\"%0500d\"}}\n", i, 0 }' > $T/in
run desk-case $T/in
rc 0 "40 messages, each with new external ids: exit 0"
xc=$(jq -s '.[0].case_id' $OUT)
run desk-case show "$xc"
test "$(jq -c .external $OUT | wc -c)" -le 16385; ok $? "the case's external ids stay under 16 KiB"
json $OUT '.external.k39 | length' 500 "and hold the latest"
att=$(awk 'BEGIN { for (i = 0; i < 101; i++) printf "%s{\"url\":\"https://x/%d\"}", i ? "," : "", i }')
printf '{"type":"reply","case_id":%s,"content":"x","attachments":[%s]}\n' "$xc" "$att" > $T/in
run desk-reply $T/in
rc 65 "a reply with 101 attachments: exit 65"
json $ERR '[.field,.reason]' '["attachments","more than 100 attachments"]' "named"

# --- what a code binds is bounded too, and copied to every linked profile ---
f60() { awk -v p="$1" 'BEGIN { for (i = 0; i < 60; i++) printf "%s\"%s%d\":1", i ? "," : "", p, i }'; }
printf '{"type":"ident.request","email":"many@example.org","fields":{%s,%s}}\n' "$(f60 a)" "$(f60 b)" > $T/in
run desk-identify $T/in
rc 65 "an ident.request binding 120 fields: exit 65"
json $ERR '[.field,.reason]' '["fields","more than 100 fields"]' "named"
printf '{"type":"ident.request","email":"many@example.org","fields":{%s}}\n{"type":"ident.request","email":"many@example.org","fields":{%s}}\n' "$(f60 a)" "$(f60 b)" > $T/in
run desk-identify $T/in
k1=$(jq -rs '.[0].code' $OUT) k2=$(jq -rs '.[1].code' $OUT)
msg m1 "$k1" > $T/in; desk-case $T/in > $T/c1; run desk-identify $T/c1
json $OUT '.identification' '"valid"' "the first code: valid"
printf '{"channel":"mail","user_custom_id":"m2","content":"%s"}\n' "$k2" > $T/in
desk-case $T/in > $T/c2; run desk-identify $T/c2
rc 0 "a second code whose fields would not fit with the first's: exit 0, not a dead stream"
json $OUT '[.identification,.not_recorded.fields.reason]' '["valid","more than 100 fields"]' \
	"valid, and the event says the fields were not recorded"
printf '{"type":"user.update","email":"many@example.org\u0000junk","name":"Evil"}\n' > $T/in
run desk-identify $T/in
rc 65 "a user.update selecting by an email with a NUL: exit 65"
printf '{"type":"ident.request","email":"ann@example.org\u0000zzz"}\n' > $T/in
run desk-identify $T/in
rc 65 "an ident.request binding an email with a NUL: exit 65"
# A second identification, and data that comes with a message, reach every linked profile.
k3=$(desk-identify code --email share@example.org --field tariff=VIP | jq -r .code)
msg s1 "$k3" > $T/in; desk-case $T/in | desk-identify > $T/o1
k4=$(desk-identify code --email share@example.org --field tariff=Gold | jq -r .code)
printf '{"channel":"mail","user_custom_id":"s2","content":"%s"}\n' "$k4" > $T/in
desk-case $T/in | desk-identify > $T/o2
s1=$(jq .user_id $T/o1) s2=$(jq .user_id $T/o2) sa=$(jq .account_user_id $T/o2)
is "$(for u in $s1 $s2 $sa; do desk-identify user show $u | jq -r .fields.tariff; done | tr '\n' ' ')" \
	"Gold Gold Gold " "a second identification: every linked profile has the new tariff"
msg s1 hi '"company":"Shared Ltd"' > $T/in; desk-case $T/in > /dev/null
run desk-identify user show "$sa"
json $OUT '.company' '"Shared Ltd"' "a company that comes with a message reaches the linked account"

run desk-case fsck
json $OUT '.damage' 0 "fsck is clean at the end"

done_testing
