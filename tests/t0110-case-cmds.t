#!/bin/sh
# desk-case list, show, set, merge.
. "$(dirname "$0")/lib.sh"

with_channel chat sync
with_channel mail async
m() { printf '{"channel":"%s","user_custom_id":"%s","content":"%s"}\n' "$1" "$2" "$3"; }
{
	m chat alice "a1"      # case 1, user 1
	m chat bob "b1"        # case 2, user 2
	m mail alice "by mail" # case 3, user 3
	m chat alice "a2"      # case 1
} > $T/in
DESK_NOW=2026-11-21T09:00:00Z desk-case $T/in > /dev/null
DESK_NOW=2026-11-21T09:05:00Z desk-case set 2 --status pending > /dev/null
ids() { jq -r .case_id $OUT | tr '\n' ' '; }

# --- list ---
run desk-case list
rc 0 "list: exit 0"
is "$(ids)" "2 1 3 " "most recently updated first"
json $OUT 'select(.case_id==1) | [.user_id,.channel,.status,.message_count,.last_message_id,.updated_at]' \
	'[1,"chat","open",2,4,"2026-11-21T09:00:00Z"]' "a listed case carries its counts"
run desk-case list --user 1
is "$(ids)" "1 " "--user"
run desk-case list --user 1,2
is "$(ids)" "2 1 " "--user with a list"
run desk-case list --channel mail
is "$(ids)" "3 " "--channel"
run desk-case list --user-custom-id alice
is "$(ids)" "1 3 " "--user-custom-id on every channel"
run desk-case list --user-custom-id alice --channel mail
is "$(ids)" "3 " "--user-custom-id with --channel"
run desk-case list --status pending
is "$(ids)" "2 " "--status"
run desk-case list --status open,pending --limit 2
is "$(ids)" "2 1 " "--status with a list, --limit"
run desk-case list --active-only
is "$(ids)" "2 1 " "--active-only: open or pending on sync channels only"
run desk-case list --active-chats
is "$(ids)" "$(desk-case list | jq -r .case_id | tr '\n' ' ')" \
	"--active-chats (the API's show_active_chats=true): chats in progress are listed with the rest"
run desk-case list --channel nope
rc 78 "list --channel of an unknown channel: exit 78"
run desk-case list --user-custom-id nobody
rc 1 "nothing matched: exit 1"
is "$(wc -c < $OUT | tr -d ' ')" 0 "and no output"
run desk-case list --status maybe
rc 64 "a bad --status: exit 64"
run desk-case list --user x
rc 64 "a bad --user: exit 64"
run desk-case list extra
rc 64 "an extra argument: exit 64"

# --- show ---
run desk-case show 1
rc 0 "show: exit 0"
json $OUT '[.case_id,.user_id,.channel,.status,(.messages|map(.content))]' '[1,1,"chat","open",["a1","a2"]]' \
	"show: the case and its messages, oldest first"
json $OUT '.messages[0] | [.message_id,.case_id,.user_id,.staff_id,.sent_via_rule,.b_from_api,.created_at]' \
	'[1,1,1,0,0,0,"2026-11-21T09:00:00Z"]' "a message's fields"
run desk-case show 99
rc 1 "show of a case that does not exist: exit 1"
like $ERR "case 99: no such case" "and says so"
run desk-case show abc
rc 64 "show of something that is not an id: exit 64"
run desk-case show
rc 64 "show without an id: exit 64"

# --- set ---
run desk-case set 1 --assignee agent7 --team support --field tariff=VIP --field 'score:=5' --subject "Where is my order"
rc 0 "set: exit 0"
json $OUT '[.assignee,.team,.fields,.subject,.status]' '["agent7","support",{"score":5,"tariff":"VIP"},"Where is my order","open"]' \
	"set prints the updated case"
run desk-case set 1 --field 'score:=null' --assignee ''
json $OUT '[.assignee,.fields]' '[null,{"tariff":"VIP"}]' "KEY:=null removes a field, an empty value clears"
run desk-case show 1
json $OUT '.fields.tariff' '"VIP"' "the change is stored"
run desk-case set 1
rc 64 "set with nothing to set: exit 64"
run desk-case set 1 --status sideways
rc 64 "set with a bad status: exit 64"
run desk-case set 1 --field novalue
rc 64 "a --field without =: exit 64"
run desk-case set 1 --field 'k:={bad'
rc 64 "a --field := that is not JSON: exit 64"
run desk-case set 42 --status closed
rc 1 "set on a case that does not exist: exit 1"

# --- merge ---
m chat alice "x" > $T/in
desk-case set 1 --status closed > /dev/null
desk-case $T/in > /dev/null            # case 4, alice
run desk-case merge 4 1
rc 0 "merge: exit 0"
json $OUT '[.case_id,.merged_from]' '[1,[4]]' "merge prints the survivor"
run desk-case show 1
json $OUT '.messages|map(.content)' '["a1","a2","x"]' "the survivor shows the merged case's messages too"
run desk-case show 4
json $OUT '.merged_into' '1' "the merged case says where it went"
run desk-case list --user 1
is "$(ids)" "1 " "merged cases are not listed..."
run desk-case list --user 1 --merged
is "$(ids | tr ' ' '\n' | sort | tr '\n' ' ')" "1 4 " "... unless --merged"
run desk-case merge 4 1
rc 65 "merging a case twice: exit 65"
like $ERR "already merged into case 1" "and says so"
run desk-case merge 1 1
rc 65 "merging a case into itself: exit 65"
run desk-case merge 2 1
rc 65 "merging cases of unrelated users: exit 65"
like $ERR "belong to different users" "and says so"
run desk-case merge 1 77
rc 1 "merging into a case that does not exist: exit 1"
run desk-case set 4 --status open
rc 65 "set on a merged case: exit 65"
like $ERR "was merged into case 1" "and says where to look"

done_testing
