#!/bin/sh
# Bad input: every bad record is reported with its line and reason,
# quarantined byte for byte, and the good records around it are stored.
. "$(dirname "$0")/lib.sh"

with_channel app
good() { printf '{"channel":"app","user_custom_id":"%s","content":"ok"}\n' "$1"; }
# The reject file named by error event N (1-based) on stderr.
reject() { sed -n "${1}p" $ERR | jq -r .reject; }

# --- malformed JSON between good lines ---
{ good a; printf '{"channel":"app",,}\n'; good b; printf 'not json at all\n'; good c; } > $T/in
run desk-case $T/in
rc 65 "malformed lines: exit 65"
is "$(jq -r .user_custom_id $OUT | tr '\n' ' ')" "a b c " "the good lines around them are processed"
is "$(lines $ERR)" 2 "one error event per bad line"
json $ERR '[.type,.prog,.line,.column,.reason]' \
	'["error","desk-case",2,18,"invalid JSON: expected a string key in object, found '"','"'"]
["error","desk-case",4,1,"invalid JSON: unexpected '"'n'"'"]' \
	"error events name the line, column and reason"
is "$(jq -r .input $ERR | sort -u)" "$T/in" "error events name the input"
printf '{"channel":"app",,}' > $T/want2
cmp -s $T/want2 "$DESK_STORE/$(reject 1)"
ok $? "the bad line is quarantined byte for byte"
like "$DESK_STORE/$(reject 1 | sed 's/raw$/json/')" '"line":2' "the error event is kept beside it"
is "$(desk-case list | wc -l | tr -d ' ')" 3 "exactly the good records are in the store"

# --- invalid UTF-8 ---
printf '{"channel":"app","user_custom_id":"u8","content":"caf\351"}\n' > $T/in
good after-utf8 >> $T/in
run desk-case $T/in
rc 65 "invalid UTF-8: exit 65"
json $ERR '.reason' '"invalid JSON: invalid UTF-8 in string"' "invalid UTF-8 is named"
head -n 1 $T/in | tr -d '\n' > $T/want
cmp -s $T/want "$DESK_STORE/$(reject 1)"
ok $? "invalid UTF-8 is quarantined unaltered (not replaced by U+FFFD)"
json $OUT '.user_custom_id' '"after-utf8"' "the next line is processed"

# --- 10,000-deep nesting ---
awk 'BEGIN { s = ""; for (i = 0; i < 10000; i++) s = s "["; for (i = 0; i < 10000; i++) s = s "]"; print s }' > $T/in
good after-deep >> $T/in
run desk-case $T/in
rc 65 "10,000-deep nesting: exit 65"
json $ERR '.reason' '"invalid JSON: nested deeper than 256 levels"' "deep nesting is refused by depth"
json $OUT '.user_custom_id' '"after-deep"' "and the next line is processed"
is "$(wc -c < "$DESK_STORE/$(reject 1)" | tr -d ' ')" 20000 "the whole line is quarantined"

# --- hostile and odd user_custom_ids ---
mkdir -p $T/box
( cd $T/box && find . > $T/before )
sum=$(cksum < /etc/passwd)
good ../../etc/passwd > $T/in
printf '{"channel":"app","user_custom_id":"/etc/passwd","content":"x"}\n' >> $T/in
run desk-case $T/in
rc 0 "a path-like user_custom_id is just a string: exit 0"
( cd $T/box && find . > $T/after )
cmp -s $T/before $T/after
ok $? "nothing outside the store was created"
is "$(cksum < /etc/passwd)" "$sum" "/etc/passwd untouched"
run desk-case list --user-custom-id ../../etc/passwd
json $OUT '.user_id' '6' "the user is found by that id"

printf '{"channel":"app","user_custom_id":"a\\u0000b","content":"x"}\n' > $T/in
good after-nul >> $T/in
run desk-case $T/in
rc 65 "a NUL in user_custom_id: exit 65"
json $ERR '[.field,.reason]' '["user_custom_id","contains a NUL character"]' "the NUL is named"
json $OUT '.user_custom_id' '"after-nul"' "the next line is processed"

long=$(awk 'BEGIN { for (i = 0; i < 10240; i++) printf "x" }')
good "$long" > $T/in
run desk-case $T/in
rc 0 "a 10 kB user_custom_id: exit 0"
run desk-case list --user-custom-id "$long"
json $OUT '[.case_id, .channel]' '[9,"app"]' "the 10 kB id finds its case"

# --- wrong types and missing fields ---
cat > $T/in <<'IN'
{"channel":"app","user_custom_id":12345,"content":"x","id":"e-num"}
{"channel":"app","content":"x"}
{"channel":"nope","user_custom_id":"u","content":"x"}
{"channel":"app","user_custom_id":"u"}
{"channel":"app","user_custom_id":"u","content":"x","attachments":[{"file_name":"a"}]}
{"channel":"app","user_custom_id":"u","content":"x","email":["a@b.c"]}
{"type":7}
[1,2]
"a string"
{"channel":"app","user_custom_id":"u","content":"","attachments":[{"url":"https://x/a.png","file_size":12}]}
IN
run desk-case $T/in
rc 65 "wrong types: exit 65"
json $ERR '[.line,.field,.reason]' \
'[1,"user_custom_id","must be a string (ids from outside are never numbers: quote it)"]
[2,"user_custom_id","missing"]
[3,"channel","unknown channel \"nope\" (see desk-webhook channel add)"]
[4,"content","missing, and no attachments"]
[5,"attachments[0].url","missing or not a string"]
[6,"email","must be a string"]
[7,"type","must be a string"]
[8,null,"an event must be a JSON object"]
[9,null,"an event must be a JSON object"]' \
	"each wrong record: its line, field and reason"
json $ERR 'select(.line==1) | .id' '"e-num"' "the error event carries the record's id"
json $OUT '.attachments[0].url' '"https://x/a.png"' "a message with only an attachment is stored"
is "$(ls $DESK_STORE/rejects/*.raw | wc -l | tr -d ' ')" "$(ls $DESK_STORE/rejects/*.json | wc -l | tr -d ' ')" \
	"every quarantined record has its error event beside it"

# --- a pretty-printed value over several lines, then an error ---
cat > $T/in <<'IN'
{
  "channel": "app",
  "user_custom_id": "pretty",
  "content": "multi-line"
}
{"oops"}
IN
run desk-case $T/in
rc 65 "multi-line value then a bad one: exit 65"
json $OUT '.user_custom_id' '"pretty"' "a value over several lines is one record"
json $ERR '.line' '6' "the line count continues across it"

# --- a record cut off at the end of input ---
printf '{"channel":"app","user_custom_id":"cut","content":"x"' > $T/in
run desk-case $T/in
rc 65 "record cut off at EOF: exit 65"
json $ERR '.reason' '"invalid JSON: unexpected end of input in an object"' "named as such"

# --- a record larger than DESK_MAX_RECORD ---
big=$(awk 'BEGIN { for (i = 0; i < 3000; i++) printf "y" }')
{ good "$big"; good after-big; } > $T/in
DESK_MAX_RECORD=1000 run desk-case $T/in
rc 65 "an oversized record: exit 65"
like $ERR 'record longer than 1000 bytes' "named as such"
json $OUT '.user_custom_id' '"after-big"' "the next line is processed"

# ... and one that streams in through a pipe, bigger than any buffer
huge=$(awk 'BEGIN { for (i = 0; i < 300000; i++) printf "z" }')
{ good "$huge"; good after-huge; } > $T/in
runpipe $T/in env DESK_MAX_RECORD=100000 desk-case
rc 65 "an oversized record read in pieces: exit 65"
like $ERR 'record longer than 100000 bytes .* 300.* bytes up to the end of its line' "named, with its length"
json $OUT '.user_custom_id' '"after-huge"' "the next line is processed"

# --- empty input and only white space ---
: > $T/empty
runpipe $T/empty desk-case
rc 0 "empty input through a pipe: exit 0"
is "$(cat $OUT $ERR | wc -c | tr -d ' ')" 0 "empty input through a pipe: no output"
run desk-case $T/empty
rc 0 "an empty file: exit 0"
is "$(cat $OUT $ERR | wc -c | tr -d ' ')" 0 "an empty file: no output"
printf '\n \t\n' > $T/ws; run desk-case $T/ws
rc 0 "white space only: exit 0"

# --- input files that cannot be read ---
run desk-case $T/no-such-file
rc 64 "a missing input file: exit 64, before anything is read"
like $ERR 'no-such-file: No such file or directory' "and the file is named"

done_testing
