#!/bin/sh
# The progress meter: on a terminal's stderr by default, one line redrawn in
# place and cleared at the end; never into a pipe or file unless forced;
# --progress into a file: lines with events, rate, rejects, percent and
# time left; --no-progress silences it on a terminal.
. "$(dirname "$0")/lib.sh"

with_channel app
ev() { awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++)
	printf "{\"channel\":\"app\",\"user_custom_id\":\"u%d\",\"id\":\"e%d\",\"content\":\"message %d\"}\n", i % 500, i, i }'; }
ev 3000 > $T/in
printf '%s\n' '{"bad' >> $T/in
# slow: $T/in at about 1,000 events a second, so that a run lasts 3 s
# however fast the machine.
cat > $T/slow.py <<'PY'
import sys, time
lines = open(sys.argv[1], "rb").readlines()
for i in range(0, len(lines), 20):
    sys.stdout.buffer.write(b"".join(lines[i:i + 20]))
    sys.stdout.flush()
    time.sleep(0.02)
PY
slow() { python3 $T/slow.py $T/in; }
fresh() { rm -rf $DESK_STORE; with_channel app; }


# --- off unless stderr is a terminal ---
slow | desk-case > $OUT 2> $ERR
is "$?" 65 "into a pipe: exit 65 (one reject)"
is "$(grep -c 'events,' $ERR)" 0 "stderr not a terminal: no meter"
is "$(wc -l < $ERR | tr -d ' ')" 1 "only the reject's error line"

# --- forced into a file ---
fresh
t0=$(date +%s.%N)
slow | desk-case --progress > $OUT 2> $ERR
is "$?" 65 "--progress into a file: exit 65"
t1=$(date +%s.%N)
like $ERR '^desk-case: 3000 events, [0-9]+/s, 1 rejected$' "the last line: all events, the rate, the reject"
n=$(grep -c 'events,' $ERR)
secs=$(python3 -c "print(round($t1 - $t0, 1))")
ok "$(python3 -c "print(0 if 3 <= $n <= $secs + 1.5 else 1)")" \
	"a line a second while it ran, and the last ($n in $secs s)"
unlike $ERR "$(printf '\r')" "no carriage returns in a file"
unlike $ERR "$(printf '\033')" "no escapes in a file"
unlike $ERR '%' "a pipe for input: no percent, no time left"
is "$(lines $OUT)" 3000 "stdout as ever"

fresh
run desk-case --progress $T/in
like $ERR '^desk-case: 3000 events, [0-9]+/s, 1 rejected, 100%$' "a regular file: the last line says 100%"
# Slowed down by a sync per event, a run long enough to see it go.
fresh
head -n 300 $T/in > $T/in300
DESK_SYNC=event run desk-case --progress $T/in300
if grep -q 'events, .*[0-9]%, ' $ERR; then
	like $ERR '^desk-case: [0-9]+ events, [0-9]+/s, 0 rejected, [0-9]+%, [0-9]+:[0-5][0-9] left$' \
		"a regular file: percent and time left while it runs"
else
	pass "# SKIP the run was over before the first line"
fi

# --- on a terminal ---
fresh
t0=$(date +%s.%N)
pty sh -c "python3 $T/slow.py $T/in | desk-case > $T/out.tty" > $T/tty
is "$?" 65 "on a terminal: exit 65"
like $T/tty "$(printf '\r')desk-case: [0-9]+ events, [0-9]+/s, 0 rejected$(printf '\033')" "the meter drawn in place"
draws=$(tr '\r' '\n' < $T/tty | grep -c 'events,')
secs=$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")
ok "$(python3 -c "print(0 if 10 <= $draws <= 10 * $secs + 1 else 1)")" \
	"redrawn, at most 10 times a second: $draws times in $secs s"
like $T/tty "$(printf '\r\033\\[K'){\"type\":\"error\"" "cleared before the error line, which starts a line of its own"
tail -c 300 $T/tty | tr '\r' '\n' | tail -n 1 > $T/last
unlike $T/last "events," "cleared at the end: nothing of it left on the line"
is "$(lines $T/out.tty)" 3000 "stdout as ever"

fresh
pty sh -c "python3 $T/slow.py $T/in | desk-case --no-progress > /dev/null" > $T/tty
unlike $T/tty "events," "--no-progress: none on a terminal"

# A short run shows nothing: the meter waits half a second.
fresh
head -n 5 $T/in > $T/few
pty sh -c "desk-case $T/few > /dev/null" > $T/tty
unlike $T/tty "events," "a short run: no meter"

# Typed input: no meter in the way.
fresh
pty sh -c "desk-case < /dev/tty > /dev/null & sleep 1; kill \$!" > $T/tty
unlike $T/tty "events," "stdin a terminal: no meter"

# The other filters take the options too.
for t in desk-identify desk-reply; do
	run $t --progress /dev/null
	rc 0 "$t --progress: exit 0"
	like $ERR "^$t: 0 events, 0/s, 0 rejected$" "$t --progress: its last line"
done
run desk-route --no-progress -r /dev/null /dev/null
isnt "$RC" 64 "desk-route takes --no-progress"
run desk-webhook send --progress /dev/null
rc 0 "desk-webhook send --progress: exit 0"
like $ERR '^desk-webhook: 0 events' "send --progress: its last line"
done_testing
