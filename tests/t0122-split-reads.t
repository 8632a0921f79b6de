#!/bin/sh
# The same bytes give the same answer however the reads cut them: every
# stream of the corpus is fed cut at every byte offset, as two reads, and each
# run must print what the unsplit run prints, exit the same and quarantine
# the same bytes (tests/split-feed.py does the feeding and comparing).
. "$(dirname "$0")/lib.sh"

# Some 2000 runs that each write and sync: on tmpfs, where a sync is cheap.
if shm=$(mktemp -d /dev/shm/desk-split.XXXXXX 2> /dev/null); then
	trap 'rm -rf "$T" "$shm"' EXIT
	DESK_STORE=$shm/store
fi
with_channel a
mkdir $T/c
# Short events keep the corpus small: every byte of it is a run.
ev() { printf '{"channel":"a","user_custom_id":"%s","content":"%s","id":"%s"}' "$1" "${2:-c}" "$1"; }
z() { head -c "$1" /dev/zero | tr '\0' "$2"; }

{ ev v1; echo; ev v2 '\u00e9é\ud83d\ude00😀'; echo; } > $T/c/valid
{ printf 'nullx\n'; ev l1; printf '\nnull\ntrue false\nnul\ntru\nfalsey\n'; } > $T/c/literals
{ printf '12 3\n123\n1e5\n-0.5E+2\n1e\n5\n01\n-\n1.\n1.e3\n1e999\n'; } > $T/c/numbers
{ printf '"a\\u00e9"\n"a\\u00"\n"\\ud83d\\ude00"\n"\\ud83dx"\n"\\ud83d\\u0041"\n"\\ude00"\n"\\x"\n'; } > $T/c/strings
{ ev u1 'é€😀'; printf '\n"\303\050"\n"\342\202"\n"\355\240\200"\n\303\n\377\n"\360\237\230"\n'; } > $T/c/utf8
{ printf '{"a":\n{"b":1}\nx\n{"a":\n'; ev o1; echo; } > $T/c/open
{ ev t1; printf '\n{"channel":"a","user_custom_id":"t"'; } > $T/c/eof
{ printf '\n\n  \r\n'; ev b1; printf '\r\n\t\n{}\r\n\r\n'; } > $T/c/blank
{ ev m1; printf ' {"x":1}[1]"s"\n{}nullx'; ev m2; printf '\n{"a" x}'; ev m3; echo; ev m4; echo; } > $T/c/oneline
# DESK_MAX_RECORD=64: a long value, garbage, white space and many values,
# each hiding a value after the limit on its line; then a good line.
{ printf '{"p":"%s"}{}\n' "$(z 60 z)"; z 70 z; printf '{}\n'; z 70 ' '; printf '{}\n'
  printf '[%s] ' 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0; echo; ev g1; echo; } > $T/c/oversized

start=$(date +%s)
for s in valid literals numbers strings utf8 open eof blank oneline oversized; do
	max=; [ $s = oversized ] && max=DESK_MAX_RECORD=64
	run env $max SPLIT_BASELINE=$T/base.$s python3 "$TOP/tests/split-feed.py" $T/c/$s desk-case
	rc 0 "$s: every split gives what the unsplit stream gives"
	like $OUT "^$(($(wc -c < $T/c/$s) - 1)) splits, 0 differ" "$s: $(head -n 1 $OUT)"
done
took=$(($(date +%s) - start))

# The baselines are what they should be, so "the same" means right.
sed 1d $T/base.valid | jq -c .duplicate > $T/q
is "$(cat $T/q)" "true
true" "valid: the baseline run replays both events"
grep '"type":"error"' $T/base.literals | jq -c '[.line,.column,.reason]' > $T/q
is "$(head -n 1 $T/q)" '[1,1,"invalid JSON: unexpected '"'n'"'"]' "literals: nullx is one error, at its start"
is "$(sed -n 's/.*"user_custom_id":"\([a-z0-9]*\)".*/\1/p' $T/base.oneline | tr '\n' ' ')" "m1 m4 " \
	"oneline: the values before a bad one on its line are taken, none after it"
sed 1d $T/base.oversized | grep '"type":"error"' | jq -c '[.line, .reason[0:21]]' | uniq -c | tr -s ' ' > $T/q
is "$(cat $T/q)" ' 1 [1,"record longer than 64"]
 1 [2,"invalid JSON: unexpec"]
 1 [3,"record longer than 64"]
 16 [4,"an event must be a JS"]
 1 [4,"record longer than 64"]' "oversized: one error per oversized line, and for each value within the limit"
sed 1d $T/base.oversized > $T/base.oversized.json
json $T/base.oversized.json 'select(.type != "error" and .id?) | .id' '"g1"' "oversized: the good line after them is taken"
echo "# the corpus ran in $took s"

done_testing
