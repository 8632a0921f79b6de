#!/bin/sh
# desk-identify speaks the help desk API's names (user_email, user_phone,
# user_full_name, company_name, custom_fields, user_custom_channel, and the
# {"user":{...}} body of POST /api/users/identification.json), and gives one
# exit status per situation: an unknown channel is 78 wherever it is named.
. "$(dirname "$0")/lib.sh"

with_channel tg sync
with_channel site async
present() { # present UCID CODE: a fresh messenger user presents CODE
	printf '{"channel":"tg","user_custom_id":"%s","content":"%s"}\n' "$1" "$2" > $T/msg
	run sh -c "desk-case < $T/msg | desk-identify"
}

# --- the API's names on ident.request ---
cat > $T/req <<'IN'
{"type":"ident.request","id":"a1","user_email":"Ann@Example.org","user_full_name":"Ann Lee","company_name":"ACME","custom_fields":{"tariff":"VIP"}}
{"type":"ident.request","id":"a2","user":{"user_custom_id":"acct-7","user_custom_channel":"site","user_full_name":"Bob","custom_fields":{"tariff":"Standard"}}}
{"type":"ident.request","id":"a3","user":{"user_phone":"+7 900 123-45-67"},"ttl":60}
{"type":"ident.request","id":"a4","email":"c@example.org","user_email":"c@example.org"}
IN
run desk-identify code $T/req
rc 0 "ident.request with the API's field names: exit 0"
json $OUT '[.id, (.code|length)]' '["a1",11]
["a2",11]
["a3",11]
["a4",11]' "each is answered with a code"
jq -r .code $OUT > $T/codes
present tg-1 "$(sed -n 1p $T/codes)"
json $OUT '.identification' '"valid"' "user_email binding: valid"
run desk-identify user show "$(jq .account_user_id $OUT)"
json $OUT '[.emails,.name,.company,.fields.tariff]' '[["ann@example.org"],"Ann Lee","ACME","VIP"]' \
	"user_email, user_full_name, company_name, custom_fields are email, name, company, fields"
present tg-2 "$(sed -n 2p $T/codes)"
run desk-identify user show "$(jq .account_user_id $OUT)"
json $OUT '[.custom_ids,.name,.fields.tariff]' '[[{"channel":"site","user_custom_id":"acct-7"}],"Bob","Standard"]' \
	'{"user":{user_custom_id, user_custom_channel...}}: the account on that channel'
present tg-3 "$(sed -n 3p $T/codes)"
run desk-identify user show "$(jq .account_user_id $OUT)"
json $OUT '.phones' '["79001234567"]' '{"user":{"user_phone"}}: the phone'

# --- both spellings with different values: rejected, naming the field ---
cat > $T/req <<'IN'
{"type":"ident.request","id":"b1","email":"x@example.org","user_email":"y@example.org"}
{"type":"ident.request","id":"b2","user":"x@example.org"}
{"type":"ident.request","id":"b3","name":"A","user":{"user_full_name":"B","user_email":"z@example.org"}}
{"type":"ident.request","id":"b4","channel":"tg","user_custom_channel":"site","user_custom_id":"q"}
{"type":"ident.request","id":"b5","fields":{"a":1},"custom_fields":{"a":2},"email":"z@example.org"}
{"type":"ident.request","id":"b6","user":{"email":"z@example.org"},"email":"w@example.org"}
IN
run desk-identify code $T/req
rc 65 "conflicting spellings: exit 65"
is "$(lines $OUT)" 0 "no code for any of them"
json $ERR '[.id,.field]' '["b1","user_email"]
["b2","user"]
["b3","user.user_full_name"]
["b4","user_custom_channel"]
["b5","custom_fields"]
["b6","user.email"]' "each is rejected naming the field"
json $ERR 'select(.id=="b1") | .reason' '"differs from email"' "and says which"

# --- user.update takes the same names ---
printf '{"type":"user.update","user_id":1,"user_full_name":"Renamed","company_name":"Co","custom_fields":{"tariff":"Gold"}}\n' > $T/upd
run desk-identify < $T/upd
rc 0 "user.update with the API's names: exit 0"
json $OUT '[.name,.company,.fields.tariff]' '["Renamed","Co","Gold"]' "user.update: name, company, fields"
printf '{"type":"user.update","user":{"user_email":"ann@example.org","custom_fields":{"tariff":"Silver"}}}\n' > $T/upd
run desk-identify < $T/upd
json $OUT '.fields.tariff' '"Silver"' 'user.update {"user":{"user_email"...}}: found by the email'

# --- an unknown channel: 78 in every subcommand that takes one ---
run desk-identify code --channel nope --user-custom-id u
rc 78 "code --channel nope: exit 78"
like $ERR 'unknown channel' "and says so"
run desk-identify verify --channel nope --user-custom-id u d_ABCDEF_gh
rc 78 "verify --channel nope: exit 78"
like $ERR 'unknown channel' "and says so"
printf '{"type":"ident.request","channel":"nope","user_custom_id":"u"}\n' > $T/req
run desk-identify code $T/req
rc 65 "an ident.request naming an unknown channel in a stream: rejected, exit 65"
like $ERR '"field":"channel"' "naming the channel"
run desk-identify code --channel site
rc 64 "code --channel without --user-custom-id: usage, exit 64"

# --- one exit table: every page lists the codes desk(7) lists (base.h's: t0913) ---
codes() { awk '/^\.Sh EXIT STATUS/ { s = 1; next } /^\.Sh / { s = 0 } s && /^\.It [0-9]/ { printf "%s ", $2 }' "$1"; }
all=$(codes "$TOP/man/desk.7")
is "$all" "0 1 64 65 69 70 74 75 77 78 " "desk(7) has the suite's exit table, 69 and 70 included"
for page in "$TOP"/man/desk-*.1; do
	is "$(codes $page)" "$all" "$(basename $page): EXIT STATUS lists the same codes"
done

# --- a key is a name only when all of it is: no cut at a NUL (fuzz-events) ---
# "channel\u0000x" in a wrapper was taken as "channel": here it clashed
# with the real one, elsewhere it would have set it.
runin '{"case":{"channel":"tg","user_custom_id":"nul-1","content":"hi","channel\u0000x":"site"}}' desk-case
rc 0 'a wrapper member "channel\u0000x" is not channel: exit 0'
json $OUT '[.channel, .["channel\u0000x"]]' '["tg","site"]' "it passes through as it came"
runin '{"type":"ident.request","id":"nul-2","user":{"user_email\u0000":"n@example.org"},"email":"m@example.org"}' desk-identify code
rc 0 '"user_email\u0000" is not user_email: exit 0'
present tg-nul "$(jq -r .code $OUT)"
run desk-identify user show "$(jq .account_user_id $OUT)"
json $OUT '.emails' '["m@example.org"]' "the code is for email only"

done_testing
