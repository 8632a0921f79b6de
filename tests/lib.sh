# tests/lib.sh: TAP helpers for desk's shell tests. Source it first thing.
#
#   run CMD...            runs CMD; sets $RC, and $OUT / $ERR (files)
#   runin STRING CMD...   the same, STRING on stdin (from a file)
#   runpipe FILE CMD...   the same, FILE on stdin through a pipe
#   is GOT WANT DESC      string equality
#   ok COND-STATUS DESC   ok 0 "desc" passes
#   like FILE REGEX DESC  grep -E on a file
#   json FILE JQ WANT DESC  jq -S -c JQ over FILE equals WANT
#   pty CMD...            CMD on a pseudo-terminal: what the terminal got
#   done_testing          prints the plan; exits non-zero on any failure
#
# Every test gets a fresh directory $T with a store $DESK_STORE in it, the
# clock pinned by DESK_NOW, and the freshly built tools first on PATH.
set -u
T_N=0
T_FAIL=0
TOP=$(cd "$(dirname "$0")/.." && pwd)
: "${DESK_BIN:=$TOP/build/bin}"
PATH=$DESK_BIN:$PATH
export PATH
T=$(mktemp -d "${TMPDIR:-/tmp}/desk-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
DESK_STORE=$T/store
DESK_NOW=2026-11-21T09:00:00Z
export DESK_STORE DESK_NOW
unset XDG_DATA_HOME DESK_SYNC DESK_LOCK_TIMEOUT DESK_SEGMENT_SIZE DESK_MAX_RECORD
OUT=$T/out
ERR=$T/err
RC=0

pass() { T_N=$((T_N + 1)); echo "ok $T_N - $1"; }
fail() {
	T_N=$((T_N + 1)); T_FAIL=$((T_FAIL + 1))
	echo "not ok $T_N - $1"
	shift
	for line in "$@"; do printf '#   %s\n' "$line"; done
}
ok() { if [ "$1" -eq 0 ]; then pass "$2"; else fail "$2"; fi; }
is() {
	if [ "$1" = "$2" ]; then pass "$3"; else fail "$3" "got:  $1" "want: $2"; fi
}
isnt() {
	if [ "$1" != "$2" ]; then pass "$3"; else fail "$3" "got:  $1" "want anything else"; fi
}
like() {
	if grep -Eq -- "$2" "$1"; then pass "$3"
	else fail "$3" "no line matches: $2" "in: $(head -c 600 "$1")"; fi
}
unlike() {
	if grep -Eq -- "$2" "$1"; then fail "$3" "a line matches: $2"; else pass "$3"; fi
}
# json FILE FILTER WANT DESC: the compact, key-sorted output of jq.
json() {
	got=$(jq -S -c "$2" < "$1" 2>&1) || true
	is "$got" "$3" "$4"
}
run() {
	"$@" > "$OUT" 2> "$ERR"
	RC=$?
}
# rc WANT DESC: the last run's exit status, with its stderr on failure.
rc() {
	if [ "$RC" -eq "$1" ]; then pass "$2"
	else fail "$2" "exit status $RC, want $1" "stderr: $(head -c 600 "$ERR")"; fi
}
# runin INPUT CMD...: run with INPUT (a string) on stdin.
runin() {
	printf '%s\n' "$1" > "$T/stdin"
	shift
	run "$@" < "$T/stdin"
}
# runpipe FILE CMD...: run with FILE on stdin through a pipe (read in pieces,
# no size to see). Never "cat FILE | run CMD": that sets RC in a subshell.
runpipe() {
	p_in=$1
	shift
	cat "$p_in" | "$@" > "$OUT" 2> "$ERR"
	RC=$?
}
# q JQ FILE: jq -c over a file, into $T/q (never over $OUT in place).
q() { jq -c "$1" "$2" > "$T/q"; cat "$T/q"; }
lines() { wc -l < "$1" | tr -d ' '; }
done_testing() {
	echo "1..$T_N"
	[ "$T_FAIL" -eq 0 ]
}
# killed DELAY OUT INPUT CMD...: runs CMD < INPUT in the background (stdout
# to OUT, stderr to OUT.err), kills it with SIGKILL DELAY seconds after its
# first answer (so the kill lands while it is acknowledging, on a fast box as
# on a loaded one), waits for it and sets K_RC to its wait status: 137 when
# the kill took it. INPUT is redirected here, explicitly: sh gives a command
# it starts in the background /dev/null as stdin.
killed() {
	k_delay=$1 k_out=$2 k_in=$3
	shift 3
	"$@" < "$k_in" > "$k_out" 2> "$k_out.err" &
	k_pid=$!
	k_n=0
	# At most a minute, and not past its end: kill -0 fails once sh reaped it.
	while [ ! -s "$k_out" ] && [ $k_n -lt 5000 ] && kill -0 $k_pid 2> /dev/null; do
		sleep 0.01
		k_n=$((k_n + 1))
	done
	sleep "$k_delay"
	kill -9 $k_pid 2> /dev/null
	wait $k_pid 2> /dev/null
	K_RC=$?
}
# slot_repoint FILE ID: slot ID of the slot file FILE made to point at
# another place in the log, its CRC made good, so that only fsck's
# compare with the log finds it.
slot_repoint() {
	python3 - "$1" "$2" <<'EOF'
import struct, sys, zlib
f = open(sys.argv[1], 'r+b')
at = int(sys.argv[2]) * 64
f.seek(at)
b = bytearray(f.read(64))
b[8] ^= 4
b[0:4] = struct.pack('<I', zlib.crc32(bytes(b[4:64])) & 0xffffffff)
f.seek(at)
f.write(b)
EOF
}
# need_strace: skips the whole test (TAP 1..0) without strace; under it
# LeakSanitizer cannot run (ptrace), so it is turned off.
need_strace() {
	if ! command -v strace > /dev/null; then
		echo "1..0 # SKIP strace not installed"
		exit 0
	fi
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
}
# A store with one custom channel, ready for messages.
with_channel() { # with_channel NAME [TYPE]
	desk-webhook channel add "$1" --type "${2:-async}" > /dev/null
}
# active_channel NAME [OPTION...]: a channel that serve takes requests for,
# whether channel add saves it active or leaves that to channel activate.
active_channel() {
	desk-webhook channel add "$@" > /dev/null
	desk-webhook channel show "$1" | jq -e .active > /dev/null ||
		desk-webhook channel activate "$1" > /dev/null
}
# serve_start NAME [OPTION...]: desk-webhook serve in the background on a
# free loopback port, stdout to $SERVE_OUT (default $T/NAME.out), stderr to
# $T/NAME.err; sets $PORT (from --port-file) and $SPID.
serve_start() {
	s_n=$1
	shift
	rm -f "$T/$s_n.port"
	desk-webhook serve --listen 127.0.0.1:0 --port-file "$T/$s_n.port" "$@" \
		> "${SERVE_OUT:-$T/$s_n.out}" 2> "$T/$s_n.err" &
	SPID=$!
	eventually 60 serve_up "$T/$s_n.port"
	PORT=$(cat "$T/$s_n.port" 2> /dev/null)
}
# serve_up PORTFILE: serve ($SPID) wrote its port, or is gone (no use waiting).
serve_up() { [ -s "$1" ] || ! kill -0 $SPID 2> /dev/null; }
# wait_for PID SECONDS: waits for the child PID, its status in $WRC; one
# still running after SECONDS is killed (137), so that a test fails instead
# of hanging.
wait_for() {
	# The watchdog's sleep goes with it, and holds no output open.
	( trap 'kill $w_s 2> /dev/null; exit 0' TERM
	  sleep "$2" & w_s=$!
	  wait $w_s && kill -9 "$1" 2> /dev/null ) > /dev/null 2>&1 &
	w_dog=$!
	wait "$1"
	WRC=$?
	kill $w_dog 2> /dev/null
}
# serve_stop: SIGTERM to serve, its exit status in $SRC (137: it did not
# stop within 60 s).
serve_stop() {
	kill -TERM $SPID
	wait_for $SPID 60
	SRC=$WRC
}
# pty CMD...: CMD with stdin, stdout and stderr on a pseudo-terminal of 100
# columns; what it wrote, as the terminal got it; its exit status.
pty() {
	python3 - "$@" <<'PY'
import fcntl, os, pty, struct, sys, termios
pid, fd = pty.fork()
if pid == 0:
    # Set before the exec: set by the parent, it raced the tool's own ask.
    fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    os.execvp(sys.argv[1], sys.argv[1:])
out = b""
while True:
    try:
        d = os.read(fd, 65536)
    except OSError:
        break
    if not d:
        break
    out += d
_, st = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.WEXITSTATUS(st))
PY
}
# eventually SECONDS CMD...: runs CMD every 50 ms until it succeeds
# (status 0) or SECONDS of wall time have passed (status 1). The wait on an
# effect, with a deadline generous enough for a loaded machine or a
# sanitizer build, instead of a fixed sleep that a slow run outlasts.
eventually() {
	e_end=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -ge "$e_end" ] && return 1
		sleep 0.05
	done
}
# hold LOCKFILE: holds the flock on LOCKFILE from another process, $HOLDER,
# until release (at most 5 minutes), and returns once it is held. The
# holder is the process that has the lock open (a subshell that becomes
# sleep), so that killing it lets go; its output goes nowhere, so that it
# keeps no pipe open.
hold() {
	( exec 9>> "$1" && flock 9 && exec sleep 300 ) < /dev/null > /dev/null 2>&1 &
	HOLDER=$!
	eventually 60 held "$1"
}
held() { ! flock -n "$1" true; }
release() {
	kill "$HOLDER" 2> /dev/null
	wait "$HOLDER" 2> /dev/null
}
# lock_waiting PID: the writer PID is in the lock's wait (it has lock.wait
# of $DESK_STORE open, which it opens when it starts to wait).
lock_waiting() {
	ls -l "/proc/$1/fd" 2> /dev/null | grep -q " $DESK_STORE/lock.wait\$"
}
# timed CMD...: run CMD; its wall time in $MS (milliseconds).
timed() {
	t_s=$(date +%s%N)
	run "$@"
	MS=$((($(date +%s%N) - t_s) / 1000000))
}
# No set -e: a failing check must report itself, not end the script.

# The case list's oracle (desk-case list, from the log alone): each case's
# latest record and its activity (the line of the newest case or message
# record naming it), in $T/cases. oracle_cases first, after every change.
oracle_cases() {
	cat $DESK_STORE/log/*.jsonl | jq -s -c '
		[to_entries[] | select(.value.rec == "case" or .value.rec == "message")
		 | {pos: .key, r: .value}]
		| group_by(.r.case_id)
		| map({case_id: .[0].r.case_id, activity: (map(.pos) | max),
		       c: (map(select(.r.rec == "case")) | last.r)})
		| map({case_id, activity, user_id: .c.user_id, channel: .c.channel,
		       status: .c.status, merged: (.c.merged_into != null)})' > $T/cases
}
# oracle_expect JQ-FILTER [LIMIT]: the case ids it selects, newest first.
oracle_expect() {
	jq -r --argjson lim "${2:-1000000}" "map(select($1)) | sort_by(-.activity) | .[:\$lim] | .[].case_id" $T/cases
}
# oracle_check DESC FILTER [LIMIT] -- LIST-ARGS...: desk-case list LIST-ARGS
# prints the cases the oracle selects, in its order, and some.
oracle_check() {
	d=$1 f=$2; shift 2
	lim=1000000
	if [ "$1" != "--" ]; then lim=$1; shift; fi
	shift
	desk-case list "$@" 2> $T/lerr | jq -r .case_id > $T/got
	oracle_expect "$f" $lim > $T/want
	if cmp -s $T/got $T/want && [ -s $T/want ]; then pass "$d ($(lines $T/want) cases)"
	else fail "$d" "got: $(tr '\n' ' ' < $T/got)" "want: $(tr '\n' ' ' < $T/want)" "$(cat $T/lerr)"; fi
}
# list_preads LIST-ARGS...: the pread64 calls of one desk-case list
# (strace: need_strace, or check for it, first).
list_preads() {
	# (LeakSanitizer cannot run under ptrace: the sanitizer build's leaks
	# are looked for by every other run)
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
		strace -f -c -e trace=pread64 -o $T/strace desk-case list "$@" > /dev/null
	awk '$NF == "pread64" { print $4 }' $T/strace
}
