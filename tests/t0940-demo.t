#!/bin/sh
# make demo (scripts/demo): runs the whole product and prints every section;
# leaves no process and no file behind, also when interrupted (Ctrl-C).
. "$(dirname "$0")/lib.sh"

# The demo's own store and clock: signatures carry the real time.
unset DESK_NOW DESK_STORE

command -v curl > /dev/null; ok $? "curl is there for the demo's requests"
mkdir -p $T/tmp
TMPDIR=$T/tmp run sh "$TOP/scripts/demo"
rc 0 "the demo: exit 0"
cat $OUT $ERR > $T/log
for section in 'a receiver for the replies' 'messages arrive' 'the same events again' \
	'desk-webhook send --drain delivers them' 'the live pipeline' \
	'desk-case list --table' 'desk-case show --thread' 'desk-webhook outbox --all --table' \
	'desk-case fsck'; do
	like $T/log "^## .*$section" "a section: $section"
done
is "$(grep -c '"signature_ok":true' $T/log)" "$(grep -c '"signature_ok":' $T/log)" "every reply the receiver got had a good signature"
like $T/log '"signature_ok":true,"content":"Hello! To identify you' "the rules' reply to the app's message, delivered by the pipeline"
like $T/log '^POST /hooks/app: 200$' "a signed message taken over HTTP"
like $T/log '^POST /hooks/app: 401$' "a forged one refused"
like $T/log '^POST /hooks/c2d: 200$' "a Chat2Desk hook taken"
like $T/log '^POST /hooks/bot: 200$' "a Blip ticket taken"
like $T/log '"delivery":"delivered","channel":"c2d"' "the reply to Chat2Desk delivered"
like $T/log '"delivery":"delivered","channel":"bot"' "the reply to Blip delivered"
like $T/log '^CASE +STATUS +CHANNEL' "the cases as a table"
like $T/log '"damage":0' "the store fsck-clean at the end"
is "$(ls -A $T/tmp)" "" "nothing left in TMPDIR"
# make demo > log 2>&1: one file for both, every section kept.
TMPDIR=$T/tmp sh "$TOP/scripts/demo" > $T/both 2>&1
is "$(grep -c '^## ' $T/both)" "$(grep -c '^## ' $ERR)" "into one file (> log 2>&1): every section kept"
is "$(tr -d '\000' < $T/both | cmp -s - $T/both; echo $?)" 0 "and no hole of NULs in it"

# Ctrl-C in the middle of the live pipeline: the process group gets SIGINT,
# as a terminal sends it; the demo exits 130 and leaves nothing.
python3 - "$TOP/scripts/demo" "$T" <<'PY' > $T/int
import os, signal, subprocess, sys, time
demo, t = sys.argv[1], sys.argv[2]
log = open(t + "/int.log", "w")
p = subprocess.Popen(["sh", demo], env=dict(os.environ, TMPDIR=t + "/tmp"), stdout=log,
    stderr=subprocess.STDOUT, start_new_session=True,
    preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
end = time.time() + 60
while time.time() < end and b"serve listens on" not in open(t + "/int.log", "rb").read():
    time.sleep(0.05)
os.killpg(p.pid, signal.SIGINT)
rc = p.wait(timeout=60)
# What it started may take a moment to be reaped once it is gone.
for i in range(50):
    left = subprocess.run(["ps", "-o", "pid=,stat=,cmd=", "-g", str(p.pid)], capture_output=True,
        text=True).stdout.splitlines()
    if not left:
        break
    time.sleep(0.1)
sys.stderr.write("".join("# left: %s\n" % l for l in left))
print(rc, len(left))
PY
is "$(cat $T/int)" "130 0" "Ctrl-C during the live pipeline: exit 130, no process left"
like $T/int.log 'serve listens on' "(it was interrupted there)"
is "$(ls -A $T/tmp)" "" "Ctrl-C: nothing left in TMPDIR"
done_testing
