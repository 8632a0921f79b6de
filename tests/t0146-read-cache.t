#!/bin/sh
# The engine's read caches (desk-store(5), Safe under concurrency): a
# writer that keeps slot pages and records' bytes across its batches reads
# another process's write between them, not its copy; and a read of the
# store that fails (EIO on a page, a bucket or a record not cached) is
# reported, exit 74 and the file named, nothing answered, the store intact.
. "$(dirname "$0")/lib.sh"

with_channel app
msg() { printf '{"channel":"app","user_custom_id":"%s","id":"%s","content":"hi"}\n' "$1" "$2"; }
{ msg u1 e1; msg u2 e2; msg u3 e3; } | desk-case > /dev/null

# A long-running desk-case: its first batch reads case 1's slot from the
# file (its page then kept); another process closes case 1; its next
# batch must see case 1 closed and open a new case.
mkfifo $T/fifo
desk-case < $T/fifo > $T/long.out 2> $T/long.err &
pid=$!
exec 3> $T/fifo
answered() { [ "$(lines $T/long.out)" -ge "$1" ]; }
msg u1 e4 >&3
eventually 60 answered 1
json $T/long.out '[.case_id,.trigger]' '[1,"updated"]' "the long-running writer puts u1's message in case 1"
run desk-case set 1 --status closed
rc 0 "another process closes case 1"
msg u1 e5 >&3
eventually 60 answered 2
exec 3>&-
wait $pid
is "$?" 0 "the long-running writer exits 0"
is "$(sed -n 2p $T/long.out | jq -c '[.case_id,.trigger]')" '[4,"new"]' \
	"its next batch sees case 1 closed: u1's next message opens case 4"
is "$(cat $T/long.err)" "" "nothing on stderr"

if ! command -v strace > /dev/null; then
	done_testing
	exit
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
cp -a $DESK_STORE $T/clean
printf '{"type":"reply","case_id":2,"content":"ok","id":"r1"}\n' > $T/reply
# eio FILE WHEN DESC: a reply with the preads of STORE/FILE failed with
# EIO from the WHENth on.
eio() {
	rm -rf $DESK_STORE; cp -a $T/clean $DESK_STORE
	strace -f -o /dev/null -P $DESK_STORE/$1 -e trace=pread64 \
		-e inject=pread64:error=EIO:when=$2+ desk-reply $T/reply > $OUT 2> $ERR
	RC=$?
	rc 74 "$3: exit 74"
	like $ERR "$1: Input/output error" "$3: the error names $1"
	is "$(lines $OUT)" 0 "$3: nothing answered"
	run desk-reply $T/reply
	is "$RC $(lines $OUT)" "0 1" "$3: the store intact, the same reply then answered"
}
eio index/cases.slots 1 "a slot's page not cached"
eio index/keys.hx 1 "the index's header"
eio index/keys.hx 2 "an index bucket not cached"
eio log/00000001.jsonl 1 "a record not cached"

done_testing
