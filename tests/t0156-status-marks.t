#!/bin/sh
# The status marks (desk-store(5)): list --status S --limit N reads the log
# backwards past the stretches where no case in S has its newest record,
# unread. Its answer is the oracle's (the log read by jq); its reads stay
# flat as newer cases in other statuses pile up, where a store without the
# marks reads them all; a writer's batch under way is never passed over;
# fsck checks the marks and names them; a store written before them is
# answered without them until fsck --repair builds them.
. "$(dirname "$0")/lib.sh"

need_strace

with_channel app sync
with_channel web
# 2,000 cases on two channels; then 1,500 of them closed and 50 pending
# (one pending, open, pending again), and 3,000 new open cases after them:
# the closed list is too long for its walk to answer soon.
awk 'BEGIN { for (i = 1; i <= 2000; i++) printf "{\"channel\":\"%s\",\"user_custom_id\":\"u%d\",\"id\":\"a%d\",\"content\":\"m %d\"}\n", (i % 3 ? "app" : "web"), i, i, i }' > $T/in1
awk 'BEGIN { for (i = 1; i <= 2000; i++)
		if (i % 4) printf "{\"type\":\"status\",\"case_id\":%d,\"status\":\"closed\"}\n", i
		else if (i % 40 == 0) printf "{\"type\":\"status\",\"case_id\":%d,\"status\":\"pending\"}\n", i
	printf "{\"type\":\"status\",\"case_id\":40,\"status\":\"open\"}\n{\"type\":\"status\",\"case_id\":40,\"status\":\"pending\"}\n" }' > $T/status
awk -v from=1 -v n=3000 'BEGIN { for (i = from; i < from + n; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"n%d\",\"id\":\"b%d\",\"content\":\"new %d\"}\n", i, i, i }' > $T/in2
awk -v from=3001 -v n=3000 'BEGIN { for (i = from; i < from + n; i++) printf "{\"channel\":\"app\",\"user_custom_id\":\"n%d\",\"id\":\"b%d\",\"content\":\"new %d\"}\n", i, i, i }' > $T/in3
# Messages in open cases of the first 2,000, alone in their stretch: a
# message record is a case's newest, with no case record after it.
awk 'BEGIN { for (i = 1; i <= 500; i++) printf "{\"channel\":\"%s\",\"user_custom_id\":\"u%d\",\"id\":\"c%d\",\"content\":\"again %d\"}\n", (i * 4 % 3 ? "app" : "web"), i * 4, i, i }' > $T/in4
run desk-case $T/in1 $T/status $T/in2
rc 0 "2,000 cases, 1,500 closed and 50 pending, then 3,000 new ones"
[ "$(desk-case list --status closed | wc -l)" -eq 1500 ]; ok $? "(1,500 closed)"
[ "$(du -k $DESK_STORE/log | cut -f1)" -gt 1024 ]; ok $? "(the log is more than a MiB: a key of marks for each)"
run desk-case fsck
rc 0 "fsck: the marks are what the log derives"

oracle_cases
oracle_check "--status closed --limit 5" '.status == "closed"' 5 -- --status closed --limit 5
oracle_check "--status pending --limit 3" '.status == "pending"' 3 -- --status pending --limit 3
oracle_check "--status closed,pending --limit 4" '.status == "closed" or .status == "pending"' 4 -- --status closed,pending --limit 4
oracle_check "--status closed --channel web --limit 2" '.status == "closed" and .channel == "web"' 2 -- --status closed --channel web --limit 2
oracle_check "--active-only --status pending --limit 2" '.status == "pending" and .channel == "app"' 2 -- --active-only --status pending --limit 2
oracle_check "--status closed --limit 2000: all 1,500" '.status == "closed"' 2000 -- --status closed --limit 2000
oracle_check "--status open --limit 3" '.status == "open"' 3 -- --status open --limit 3

# The reads: flat with 3,000 more open cases; a store without the marks
# (lists.slots without its slot 5, as a desk before them left it) reads
# its way through them.
small=$(list_preads --status closed --limit 3)
run desk-case $T/in3 $T/in4
rc 0 "(3,000 more open cases, then 500 messages in the old open ones)"
big=$(list_preads --status closed --limit 3)
[ "$big" -le $((small + 4)) ]; ok $? "list --status closed --limit 3: $small preads, $big with 3,000 more open cases and 500 messages after"
pending=$(list_preads --status pending --limit 2)
[ "$pending" -le $((small + 8)) ]; ok $? "list --status pending --limit 2: $pending preads"
oracle_cases
oracle_check "--status open --limit 5: the cases of the last messages" '.status == "open"' 5 -- --status open --limit 5
oracle_check "--status open --channel web --limit 2" '.status == "open" and .channel == "web"' 2 -- --status open --channel web --limit 2
oracle_check "--active-only --limit 3" '(.status == "open" or .status == "pending") and .channel == "app"' 3 -- --active-only --limit 3
oracle_check "--status closed --limit 3 (no closed case's newest record among them)" '.status == "closed"' 3 -- --status closed --limit 3
cp -a $DESK_STORE $T/marked
truncate -s 320 $DESK_STORE/index/lists.slots
unmarked=$(list_preads --status closed --limit 3)
[ "$unmarked" -gt $((big + 1000)) ]; ok $? "without the marks: $unmarked preads"
oracle_cases
oracle_check "and the same answer" '.status == "closed"' 3 -- --status closed --limit 3

# --- a store written before the marks: left without, until --repair ---
run desk-case set 8000 --status closed
rc 0 "a case closed in it (its writer marks nothing)"
oracle_cases
oracle_check "listed without the marks" '.status == "closed"' 3 -- --status closed --limit 3
unmarked=$(list_preads --status closed --limit 3)
run desk-case fsck
rc 1 "fsck finds the marks missing"
like $ERR "status list 5 has no slot" "naming the slot that says they are kept"
like $ERR "index: the key of the status marks of log/00000001.jsonl from offset [0-9]* \([0-9]* MiB\) disagrees" "and the marks the close did not set"
run desk-case fsck --repair
rc 0 "fsck --repair builds them"
run desk-case fsck
rc 0 "then fsck is clean"
oracle_check "--status closed --limit 3 with them" '.status == "closed"' 3 -- --status closed --limit 3
after=$(list_preads --status closed --limit 3)
[ "$after" -lt $((unmarked / 2)) ]; ok $? "and reads fewer again: $after preads, $unmarked without"
rm -rf $DESK_STORE; cp -a $T/marked $DESK_STORE

# --- a writer's batch under way: its slots are written before its keys,
# so a case it closes may have its slot on disk and not yet its mark ---
id=$(desk-case list --status open --limit 1 | jq .case_id)
strace -f -o $T/w.tr -P $DESK_STORE/index/keys.hx -e trace=pwrite64 \
    -e inject=pwrite64:delay_enter=3000000:when=1 \
    desk-case set $id --status closed > /dev/null 2> $T/w.err &
wp=$!
w=0; while [ $w -lt 300 ] && [ "$(desk-case show $id 2> /dev/null | jq -r .status)" != closed ]; do
	sleep 0.01; w=$((w + 1))
done
desk-case list --status closed --limit 1 > $T/mid 2>&1
desk-case show $id | jq -r .status > $T/midshow
kill -0 $wp 2> /dev/null; held=$?
wait $wp; wrc=$?
is "$held:$(cat $T/midshow)" "0:closed" "case $id closed by a writer held before its first write of keys.hx"
json $T/mid .case_id "$id" "a list --status closed --limit 1 meanwhile has it: the batch's stretch is not passed over"
grep -q 'pwrite64(' $T/w.tr; ok $? "(the writer did write keys.hx after)"
is "$wrc" 0 "the writer finished"
desk-case list --status closed --limit 1 > $T/end
json $T/end .case_id "$id" "and after it, the list has it"
run desk-case fsck
rc 0 "fsck clean after"

done_testing
