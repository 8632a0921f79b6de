#!/bin/sh
# --table and show --thread: the views for people; colour only on a terminal.
. "$(dirname "$0")/lib.sh"

with_channel chat sync
with_channel mail async
m() { printf '{"channel":"%s","user_custom_id":"%s","id":"%s","content":"%s","name":"%s"}\n' "$@"; }
{
	m chat alice a1 'Hello, my order 4417' 'Ann Lee'   # case 1, user 1
	m chat bob b1 'Привет, 你好世界' 'Борис'          # case 2, user 2
} > $T/in
desk-case $T/in > /dev/null
# A second case of Ann's, to be merged into her first below.
desk-case set 1 --status closed > /dev/null
printf '%s\n' '{"channel":"chat","user_custom_id":"alice","id":"a2","content":"first line\nsecond line"}' |
	desk-case > /dev/null   # case 3
desk-case set 1 --status open > /dev/null
desk-case set 2 --subject "$(printf 'a very long subject %.0s' 1 2 3 4 5)" > /dev/null
desk-reply > /dev/null <<'JSON'
{"type":"reply","case_id":1,"id":"r-1","staff_id":7,"content":"Checking now."}
{"type":"reply","case_id":1,"id":"r-2","via":"api","content":"From the CRM."}
{"type":"reply","case_id":1,"via":"rule","rule":"greet","source_id":"a1","content":"Welcome!"}
JSON

# --- JSON Lines stays the default ---
run desk-case list
is "$(jq -c .case_id $OUT | tr '\n' ' ')" "1 2 3 " "list without --table: one JSON value a line"

# --- list --table ---
run desk-case list --table
rc 0 "list --table: exit 0"
is "$(head -n 1 $OUT | tr -s ' ')" "CASE STATUS CHANNEL USER ASSIGNEE TEAM MSGS MERGED UPDATED SUBJECT" \
	"list --table: the titles"
is "$(wc -l < $OUT | tr -d ' ')" 4 "list --table: a title line and a line per case"
like $OUT '^   2  open    chat        2 ' "ids right-aligned, columns as wide as their widest value"
like $OUT '  a very long subject a very long subject a very …$' "a long subject is cut with …"
unlike $OUT '\{' "no JSON in the table"
run desk-case list --status closed --table
rc 1 "list --table of nothing: exit 1"
is "$(cat $OUT)" "" "list --table of nothing: nothing printed"

# --- show --table, --thread ---
run desk-case show --table 1
rc 0 "show --table: exit 0"
like $OUT '^MSG  CASE  WHEN              FROM' "show --table: the messages' titles"
like $OUT ' agent 7 +Checking now\.$' "show --table: an agent's reply"
like $OUT ' rule greet +Welcome!$' "show --table: a rule's reply"
like $OUT ' Ann Lee \(user 1\) +Hello' "show --table: the user, by name"

desk-case merge 3 1 > /dev/null
run desk-case show --thread 1
rc 0 "show --thread: exit 0"
like $OUT '^case 1 · chat · open · user 1 Ann Lee · assignee 7 · opened 2026-11-21 09:00$' "the thread's head"
like $OUT '^2026-11-21 09:00  Ann Lee \(user 1\)$' "who and when of the user's message"
like $OUT '^    Hello, my order 4417$' "what, indented"
like $OUT '^2026-11-21 09:00  agent 7 · reply$' "an agent's reply marked"
like $OUT '^2026-11-21 09:00  API · reply$' "an API reply marked"
like $OUT '^2026-11-21 09:00  rule greet · reply$' "a rule's reply marked"
like $OUT 'Ann Lee \(user 1\)  \(from case 3, merged\)$' "a merged case's message folded in, marked"
like $OUT '^    second line$' "a message's line breaks kept"
is "$(grep -c '^    ' $OUT)" 6 "every message's text is there"
run desk-case show --thread --table 1
rc 64 "--thread and --table: one view at a time"

# --- the other list and show commands ---
run desk-webhook channel list --table
like $OUT '^NAME  CONNECTOR  TYPE   ACTIVE  SECRET  URL  UPDATED$' "channel list --table: titles"
like $OUT '^chat  custom     sync   no      no      -    2026-11-21 09:00$' "channel list --table: a row"
run desk-webhook channel show --table mail
is "$(wc -l < $OUT | tr -d ' ')" 2 "channel show --table: one row"
run desk-webhook outbox --table
like $OUT '^OUT  CASE  CHANNEL  VIA    STATE    TRY' "outbox --table: titles"
is "$(grep -c pending $OUT)" 3 "outbox --table: a row per entry"
run desk-reply outbox --table
is "$(grep -c pending $OUT)" 3 "desk-reply outbox --table: the same view"
run desk-webhook dead list --table
rc 1 "dead list --table with nothing dead: exit 1"
run desk-identify user show --table 2
like $OUT '^   2  Борис  no          -       -       chat:bob' "user show --table: Cyrillic name padded by its cells"
run desk-route list --table --tick
rc 64 "desk-route list --table: another option is a usage error"

# --- safety and colour ---
printf '%s\n' '{"channel":"chat","user_custom_id":"eve","id":"e1","content":"x\u001b]0;owned\u0007y"}' | desk-case > /dev/null
run desk-case show --thread 4
unlike $OUT "$(printf '\033')" "no escape from a message reaches the terminal"
like $OUT '^    x ]0;owned y$' "control characters shown as spaces"

(unset NO_COLOR; pty desk-case list --table) > $T/tty
like $T/tty "$(printf '\033\\[1mCASE')" "on a terminal: bold titles"
like $T/tty "$(printf '\033\\[32mopen')" "on a terminal: a status in its colour"
NO_COLOR=1 pty desk-case list --table > $T/tty
unlike $T/tty "$(printf '\033')" "NO_COLOR: no colour on a terminal"
(unset NO_COLOR; pty desk-case show --thread 1) > $T/tty
like $T/tty "$(printf '\033\\[36magent 7')" "the thread in colour on a terminal"
(unset NO_COLOR; desk-case list --table) > $T/pipe
unlike $T/pipe "$(printf '\033')" "into a pipe: no colour"
NO_COLOR=1 pty desk-case list --table > $T/tty
widest() { python3 -c 'import sys; print(max(len(l.rstrip("\n")) for l in open(sys.argv[1], encoding="utf-8")))' "$1"; }
is "$(widest $T/tty)" 100 \
	"on a terminal 100 columns wide: lines of 100 at most, the widest column cut"
# desk-route list --table: a row per rule, in order, from the shipped rules.
run desk-route list --table -r "$TOP/examples/identification.rules.json"
rc 0 "desk-route list --table"
is "$(lines $OUT)" "$(($(jq '.rules | length' "$TOP/examples/identification.rules.json") + 1))" \
	"desk-route list --table: titles and a row per rule"
like $OUT '^ *# +RULE +ON +ALL +ANY +THEN +STOP$' "desk-route list --table: its titles"
like $OUT '^ *1 +a\. new chat: ask for the code +new ' "desk-route list --table: rule 1 first"
done_testing
