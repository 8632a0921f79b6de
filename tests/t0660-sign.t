#!/bin/sh
# desk-webhook sign and verify from the shell: Standard Webhooks' own
# known answer, verify's exit 0 or 77, the ±300 s window, a tampered body
# or id, and a key rotation (any one signature of the list).
. "$(dirname "$0")/lib.sh"

printf '%s\n' whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw > $T/key
printf '%s' '{"test": 2432232314}' > $T/body
run desk-webhook sign --secret-file $T/key --id msg_p5jXN8AQM9LWM0D4loKWxJek --timestamp 1614265330 < $T/body
rc 0 "sign: exit 0"
is "$(cat $OUT)" 'webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek
webhook-timestamp: 1614265330
webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' "the known answer of REFERENCES §4"
cp $OUT $T/hdrs

DESK_NOW=1614265330 run desk-webhook verify --secret-file $T/key --headers $T/hdrs < $T/body
rc 0 "verify at the signing time: exit 0"
DESK_NOW=$((1614265330 + 300)) run desk-webhook verify --secret-file $T/key --headers $T/hdrs < $T/body
rc 0 "300 s later: still in the window"
DESK_NOW=$((1614265330 + 301)) run desk-webhook verify --secret-file $T/key --headers $T/hdrs < $T/body
rc 77 "301 s later: exit 77"
DESK_NOW=$((1614265330 - 301)) run desk-webhook verify --secret-file $T/key --headers $T/hdrs < $T/body
rc 77 "301 s early: exit 77"
like $ERR 'timestamp' "the error names the timestamp"
printf '%s' '{"test": 2432232315}' > $T/body2
DESK_NOW=1614265330 run desk-webhook verify --secret-file $T/key --headers $T/hdrs < $T/body2
rc 77 "a body changed by one digit: exit 77"
DESK_NOW=1614265330 run desk-webhook verify --secret-file $T/key --id msg_other --timestamp 1614265330 \
	--signature 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' < $T/body
rc 77 "another webhook-id: exit 77"
DESK_NOW=1614265330 run desk-webhook verify --secret-file $T/key --id msg_p5jXN8AQM9LWM0D4loKWxJek --timestamp 1614265330 \
	--signature 'v1,AAAA v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' < $T/body
rc 0 "a list of signatures (a rotation): any one valid will do"
DESK_NOW=1614265330 run desk-webhook verify --secret-file $T/key --id msg_p5jXN8AQM9LWM0D4loKWxJek --timestamp 1614265330 < $T/body
rc 77 "no signature: exit 77"

# sign and verify agree on any body, at the clock's time.
head -c 5000 /dev/urandom > $T/rand
desk-webhook sign --secret-file $T/key --id msg_x < $T/rand > $T/h2
run desk-webhook verify --secret-file $T/key --headers $T/h2 < $T/rand
rc 0 "sign then verify: any bytes, at DESK_NOW"
like $T/h2 "^webhook-timestamp: $(date -u -d "$DESK_NOW" +%s)\$" "the timestamp is now (DESK_NOW)"

run desk-webhook sign --id x < $T/body
rc 64 "sign without --secret-file: usage, exit 64"
printf 'notakey\n' > $T/bad
run desk-webhook sign --secret-file $T/bad --id x < $T/body
rc 78 "sign with a file that holds no key: exit 78"
unlike $ERR 'notakey' "the error does not print the file's contents"

done_testing
