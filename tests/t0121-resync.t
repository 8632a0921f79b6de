#!/bin/sh
# Resynchronising after a bad line: an oversized or malformed record is
# rejected together with the rest of its line, whatever that line holds and
# however it arrives; parsing resumes at the next line, the quarantined copy
# is bounded, and memory stays bounded however long the line is.
. "$(dirname "$0")/lib.sh"

with_channel app
ev() { printf '{"channel":"app","user_custom_id":"%s","content":"x"}' "$1"; }
z() { head -c "$1" /dev/zero | tr '\0' "${2:-z}"; }
# The reject file named by the first error event on stderr.
reject() { echo "$DESK_STORE/$(head -n 1 $ERR | jq -r .reject)"; }
size() { wc -c < "$1" | tr -d ' '; }
# stored NAME: how many cases user_custom_id NAME has (0 when none).
# A list that fails says so, rather than look like "none".
stored() {
	desk-case list --user-custom-id "$1" > $T/stored 2> /dev/null
	s_rc=$?
	if [ $s_rc -gt 1 ]; then echo "desk-case list failed: $s_rc"
	else wc -l < $T/stored | tr -d ' '; fi
}
counts() { desk-case fsck | jq -c '[.damage,.users,.messages]'; }

# check NAME FEED MAX DESC: the line in $T/in (a rejected line hiding "NAME"
# on it, then a good line "after-NAME") fed by FEED (file or pipe).
check() {
	c_name=$1 c_feed=$2 c_max=$3 c_desc=$4
	before=$(counts)
	if [ "$c_feed" = pipe ]; then
		run env ${c_max:+DESK_MAX_RECORD=$c_max} sh -c 'cat "$1" | desk-case' _ $T/in
	else
		run env ${c_max:+DESK_MAX_RECORD=$c_max} desk-case $T/in
	fi
	rc 65 "$c_desc ($c_feed): exit 65"
	is "$(stored $c_name)" 0 "$c_desc ($c_feed): the event hidden on the rejected line is not stored"
	unlike $OUT "\"$c_name\"" "$c_desc ($c_feed): ... nor acknowledged"
	is "$(jq -r .user_custom_id $OUT)" "after-$c_name" "$c_desc ($c_feed): the next line is processed"
	is "$(lines $ERR)" 1 "$c_desc ($c_feed): one error for the whole line"
	is "$(counts)" "$(echo "$before" | jq -c '.[1] += 1 | .[2] += 1')" \
		"$c_desc ($c_feed): fsck counts one new user and message, no more"
}

# --- an oversized value that ends mid-line, another value after it ---
for feed in file pipe; do
	{ printf '{"channel":"app","user_custom_id":"pad","content":"x","padding":"%s"}' "$(z 2995)"
	  ev evil-$feed; echo; ev after-evil-$feed; echo; } > $T/in
	check evil-$feed $feed 1000 "an oversized value, then an event on its line"
	like $ERR '"reason":"record longer than 1000 bytes \(DESK_MAX_RECORD\); 3122 bytes up to the end of its line' \
		"oversized ($feed): the reason says how long the rest of the line is"
	like $ERR 'line of 3122 bytes; the reject keeps its first 1000' "oversized ($feed): ... how long the line is and what is kept"
	is "$(size "$(reject)")" 1000 "oversized ($feed): the reject holds the first DESK_MAX_RECORD bytes"
	head -c 1000 $T/in > $T/want
	cmp -s $T/want "$(reject)"; ok $? "oversized ($feed): ... as they came"
done

# --- garbage as long as the read buffer, an event after it on the line ---
for feed in file pipe; do
	{ z 262144; ev evil2-$feed; echo; ev after-evil2-$feed; echo; } > $T/in
	check evil2-$feed $feed 1000 "a long malformed line"
	like $ERR '"line":1,"column":1,"reason":"invalid JSON: unexpected .z.; a line of 262205 bytes, the reject keeps its first 1000"' \
		"malformed ($feed): the reason says how long the line is"
	is "$(size "$(reject)")" 1000 "malformed ($feed): the reject is bounded"
done

# --- white space past DESK_MAX_RECORD, then an event on the same line ---
for feed in file pipe; do
	{ z 3000 ' '; ev evil3-$feed; echo; ev after-evil3-$feed; echo; } > $T/in
	check evil3-$feed $feed 1000 "a line of spaces hiding an event"
	like $ERR 'record longer than 1000 bytes \(DESK_MAX_RECORD\) counting the 3000 before it on its line' \
		"spaces ($feed): the bytes before the record count"
done

# --- values on one line: the one that crosses the limit and all after it ---
{ ev ok1; ev ok2; printf '{"channel":"app","user_custom_id":"cross","content":"%s"}' "$(z 900)"; ev evil4; echo; ev after-evil4; echo; } > $T/in
run env DESK_MAX_RECORD=1000 desk-case $T/in
rc 65 "a line that outgrows the limit value by value: exit 65"
is "$(jq -r .user_custom_id $OUT | tr '\n' ' ')" "ok1 ok2 after-evil4 " \
	"the values within the limit are taken, the rest of the line is not"

# --- the line count goes on after a rejected line ---
{ z 262144; echo; printf '{"oops"}\n'; } > $T/in
run env DESK_MAX_RECORD=1000 sh -c 'cat "$1" | desk-case' _ $T/in
json $ERR '.line' '1
2' "the line after a long rejected line is line 2"

# --- at the default DESK_MAX_RECORD: 17 MiB of padding ---
for feed in file; do
	{ printf '{"channel":"app","user_custom_id":"pad","content":"x","padding":"'; z 17825792; printf '"}'
	  ev evil5-$feed; echo; ev after-evil5-$feed; echo; } > $T/in
	check evil5-$feed $feed "" "17 MiB of padding, then an event"
	is "$(size "$(reject)")" 15728640 "17 MiB ($feed): the reject holds the first 15 MiB (DESK_MAX_RECORD)"
done

# ... and 16 MiB of garbage: the hidden event starts right where a chunk used to end
for feed in file pipe; do
	{ z 16777216; ev evil7-$feed; echo; ev after-evil7-$feed; echo; } > $T/in
	check evil7-$feed $feed "" "16 MiB of garbage, then an event"
	is "$(size "$(reject)")" 15728640 "16 MiB of garbage ($feed): the reject holds the first 15 MiB (DESK_MAX_RECORD)"
done

# --- a 100 MiB line through a pipe: memory stays bounded ---
maxrss() { # maxrss CMD...: runs CMD; its status in RC, the peak RSS of any child (KiB) on stdout
	python3 -c 'import resource, subprocess, sys
r = subprocess.run(sys.argv[1:]).returncode
print(r, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
}
set -- $(maxrss sh -c '{ printf "{\"p\":\""; head -c 104857600 /dev/zero | tr "\0" z; printf "\"}"
	printf "{\"channel\":\"app\",\"user_custom_id\":\"evil6\",\"content\":\"x\"}\n"; } |
	DESK_MAX_RECORD=1048576 desk-case > "$1" 2> "$2"' _ $OUT $ERR)
is "$1" 65 "a 100 MiB line: exit 65"
[ "$2" -lt 65536 ]; ok $? "a 100 MiB line: the peak RSS stays under 64 MiB ($2 KiB)"
is "$(stored evil6)" 0 "a 100 MiB line: the event after it is not stored"
like $ERR 'a line of 104857664 bytes' "a 100 MiB line: its length is told"

# --- a line cut short does not take the whole line after it ---
for feed in file pipe; do
	{ printf '{"channel":"app","user_custom_id":"cut-%s",\n' $feed; ev whole-$feed; echo; ev next-$feed; echo; } > $T/in
	if [ $feed = pipe ]; then run sh -c 'cat "$1" | desk-case' _ $T/in; else run desk-case $T/in; fi
	rc 65 "a line cut short ($feed): exit 65"
	json $ERR '[.line,.reason]' '[1,"invalid JSON: unexpected end of input in an object"]' \
		"a line cut short ($feed): the error is its own, on its own line"
	is "$(stored whole-$feed) $(stored next-$feed) $(stored cut-$feed)" "1 1 0" \
		"a line cut short ($feed): the whole line after it is stored, and the next"
done

done_testing
