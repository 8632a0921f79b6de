#!/bin/sh
# desk-reply reads the few members it needs of a case and of a user from
# the records' bytes (desk_record_members): a record as desk prints it and
# one that is not give the same reply; a damaged member it reads fails the
# store, naming the case, as reading the whole record did.
. "$(dirname "$0")/lib.sh"

desk-webhook channel add app > /dev/null
printf '%s\n' '{"channel":"app","user_custom_id":"u1","content":"hi","external":{"dialog_id":"d-1"}}' \
	'{"channel":"app","user_custom_id":"u2","content":"hi"}' | desk-case > /dev/null
cp -a $DESK_STORE $T/clean
reply() { printf '{"type":"reply","case_id":%s,"content":"ok","id":"r%s"}\n' "$1" "$1"; }
# edit SED GREP WHAT: the clean store again, its log edited by SED, which
# GREP then finds there
edit() {
	rm -rf $DESK_STORE; cp -a $T/clean $DESK_STORE
	log=$(ls $DESK_STORE/log/*.jsonl | head -n 1)
	sed -i "$1" $log
	grep -q "$2" $log
	ok $? "$3"
}

run desk-reply $(reply 1 > $T/r1; echo $T/r1)
rc 0 "a reply from the records' bytes"
json $OUT '[.user_id,.user_custom_id,.channel,.connector,.external]' \
	'[1,"u1","app","custom",{"dialog_id":"d-1"}]' "the recipient read from the case's and the user's bytes"
cp $OUT $T/want

# Case 1's record with the key of a member the reply reads escaped (valid
# JSON, not as desk prints it): read whole, the same answer. Kept the same
# length (another member made shorter), so every pointer into the log
# stays right.
edit '/"rec":"case","case_id":1,.*"external":/{s/"external":/"\\u0065xternal":/;s/"team":null,/"t":0, /;}' \
	'"case_id":1,.*"t":0, .*"\\u0065xternal":{"dialog_id":"d-1"}' \
	"(case 1's record: the key external escaped)"
run desk-reply $T/r1
rc 0 "a record not as desk prints it: read whole"
is "$(cat $OUT)" "$(cat $T/want)" "the same message.out"

# User 1's custom_ids found in the record's bytes, element by element:
# another channel's id first (same length: members shortened) is passed
# over for the case's channel's.
edit 's/"user_id":1,"custom_ids":\[{"channel":"app","user_custom_id":"u1"}\],"emails":\[\],"phones":\[\],"name":null,"company":null,/"user_id":1,"custom_ids":[{"channel":"bot","user_custom_id":"b9"},{"channel":"app","user_custom_id":"u1"}],"n":"abcd",/' \
	'"custom_ids":\[{"channel":"bot","user_custom_id":"b9"},{"channel":"app"' \
	"(user 1: an id on another channel first)"
run desk-reply $T/r1
rc 0 "a user with ids on two channels"
is "$(cat $OUT)" "$(cat $T/want)" "the id on the case's channel, not the first"

# An element with a key escaped: custom_ids parsed, the same answer.
edit 's/"user_id":1,"custom_ids":\[{"channel":"app","user_custom_id":"u1"}\],"emails":\[\],"phones":\[\],/"user_id":1,"custom_ids":[{"channel":"app","\\u0075ser_custom_id":"u1"}],"emails":[],"p":10,/' \
	'"custom_ids":\[{"channel":"app","\\u0075ser_custom_id":"u1"}\],"emails":\[\],"p":10,' \
	"(user 1: an id's key escaped)"
run desk-reply $T/r1
rc 0 "custom_ids not as desk prints it: parsed"
is "$(cat $OUT)" "$(cat $T/want)" "the same message.out"

# A damaged id on another channel than the case's: not passed over, the
# store fails, naming the user.
edit 's/"user_id":1,"custom_ids":\[{"channel":"app","user_custom_id":"u1"}\],"emails":\[\],"phones":\[\],"name":null,"company":null,/"user_id":1,"custom_ids":[{"channel":"bot","user_custom_id":"b\x01"},{"channel":"app","user_custom_id":"u1"}],"n":"abcd",/' \
	"$(printf '"user_custom_id":"b\001"},')" \
	"(user 1: an id on another channel damaged)"
run desk-reply $T/r1
rc 74 "a damaged id the reply does not use: exit 74"
like $ERR 'user 1: .*fsck' "the error names the user and says fsck"

# A damaged member that the reply reads: the store fails, naming the case.
edit '0,/"case_id":2,"user_id":2,"channel":"app","status":"open"/s//"case_id":2,"user_id":2,"channel":"app","status":"op\x01n"/' \
	"$(printf 'op\001n')" \
	"(case 2's status damaged)"
reply 2 > $T/r2
run desk-reply $T/r2
rc 74 "a damaged record: exit 74"
like $ERR 'case 2: .*fsck' "the error names the case and says fsck"
run desk-reply outbox
rc 1 "nothing queued"
done_testing
