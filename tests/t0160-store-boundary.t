#!/bin/sh
# The store's boundary: what it trusts (its own directories, owned by whoever
# runs the tool and writable by nobody else, never a symbolic link), when it
# comes into being (the first record that needs writing, not a mistyped
# command), and how fsck --repair replaces a log segment (fsync, rename, sync).
. "$(dirname "$0")/lib.sh"

msg() { printf '{"channel":"app","user_custom_id":"%s","content":"%s"}\n' "$1" "$2"; }
perm() { stat -c %a "$1"; }
# What a directory holds, with sizes and times: any write there changes it.
snap() { find "$1" -printf '%p %s %T@\n' | sort; }
skip() { T_N=$((T_N + 1)); echo "ok $T_N # skip $1"; }

with_channel app
runin "$(msg u1 first)" desk-case
{ msg u2 second; echo 'not json'; } > $T/in
cp -a $DESK_STORE $T/pristine
fresh() { rm -rf $DESK_STORE; cp -a $T/pristine $DESK_STORE; }

# --- a subdirectory replaced by a symbolic link is refused, not followed ---
# Each with a command that writes there (desk-case: rejects/, tmp/, log/, index/).
for sub in rejects tmp log index channels secrets; do
	fresh
	rm -rf $T/outside; cp -a $DESK_STORE/$sub $T/outside
	rm -rf $DESK_STORE/$sub
	ln -s $T/outside $DESK_STORE/$sub
	snap $T/outside > $T/before
	sleep 0.01
	case $sub in
	channels) set -- desk-webhook channel add other --type async ;;
	secrets) set -- desk-identify code --email ann@example.org ;;
	*) set -- desk-case $T/in ;;
	esac
	run "$@"
	rc 77 "$sub/ is a symbolic link: $1 exits 77"
	like $ERR "^$1: $DESK_STORE/$sub: .*symbolic link" "... naming $sub/ and why"
	snap $T/outside > $T/after
	cmp -s $T/before $T/after; ok $? "... and nothing was written through it"
done
fresh
rm -rf $T/outside; cp -a $DESK_STORE/rejects $T/outside
rm -rf $DESK_STORE/rejects; ln -s $T/outside $DESK_STORE/rejects
run desk-case list
rc 77 "a reader refuses it too"

# --- the store itself as a symbolic link ---
fresh
ln -s $DESK_STORE $T/link
DESK_STORE=$T/link run desk-case list
rc 77 "the store is a symbolic link: exit 77"
like $ERR "^desk-case: $T/link: .*symbolic link" "... naming it"

# --- writable by others ---
fresh
chmod g+w $DESK_STORE
run desk-case $T/in
rc 77 "store directory group-writable: exit 77"
like $ERR "^desk-case: $DESK_STORE: .*writable by group or others" "... and says why"
chmod 700 $DESK_STORE
chmod o+w $DESK_STORE/rejects
run desk-case $T/in
rc 77 "rejects/ world-writable: exit 77"
like $ERR "^desk-case: $DESK_STORE/rejects: .*writable by group or others" "... naming rejects/"
n=$(ls $DESK_STORE/rejects | wc -l | tr -d ' ')
is "$n" 0 "... and nothing was quarantined there"

# --- owned by another user ---
if [ "$(id -u)" -eq 0 ]; then
	fresh
	chown nobody $DESK_STORE
	run desk-case $T/in
	rc 77 "store owned by another user (nobody), run as root: exit 77"
	like $ERR "^desk-case: $DESK_STORE: owned by uid [0-9]+" "... and says whose it is"
	chown 0 $DESK_STORE
	chown nobody $DESK_STORE/index
	run desk-case list
	rc 77 "index/ owned by another user: exit 77"
	like $ERR "^desk-case: $DESK_STORE/index: owned by uid" "... naming index/"
	chown 0 $DESK_STORE/index
else
	skip "not root: cannot make a store owned by another user"
	skip "not root"
	skip "not root"
	skip "not root"
fi

# --- created private, parents included, whatever the umask ---
( umask 000
  DESK_STORE=$T/p1/p2/store with_channel app )
is "$(perm $T/p1) $(perm $T/p1/p2) $(perm $T/p1/p2/store) $(perm $T/p1/p2/store/rejects)" \
	"700 700 700 700" "umask 000: new parent directories are 0700, like the store"
( umask 000
  DESK_STORE=$T/q1/q2/store desk-case < $T/in > /dev/null 2>&1 )
is "$(perm $T/q1) $(perm $T/q1/q2)" "700 700" "the same when the filter creates it"

# --- a mistyped command creates no store ---
# Each: the exit status it has always had, and no store (nor parent) after it.
nostore=$T/none/store
exists() { if [ -e $T/none ]; then echo "; created $T/none"; fi; }
DESK_STORE=$nostore run desk-case lsit
is "$RC$(exists)" 64 "desk-case lsit (no such input file): exit 64, no store created"
DESK_STORE=$nostore run desk-case help
is "$RC$(exists)" 0 "desk-case help (issue 13: the help): exit 0, no store created"
DESK_STORE=$nostore run desk-case /no/such
is "$RC$(exists)" 64 "desk-case /no/such: exit 64, no store created"
DESK_STORE=$nostore run desk-identify < /dev/null
is "$RC$(exists)" 0 "desk-identify < /dev/null: exit 0, no store created"
DESK_STORE=$nostore run desk-case < /dev/null
is "$RC$(exists)" 0 "desk-case < /dev/null: exit 0, no store created"
DESK_STORE=$nostore run desk-reply < /dev/null
is "$RC$(exists)" 0 "desk-reply < /dev/null: exit 0, no store created"
DESK_STORE=$nostore run desk-case list
rc 78 "a reader on the missing store still exits 78"
like $ERR "no store here" "... and says so"
# A record that needs writing creates it: even a rejected one, whose bytes
# must be quarantined.
DESK_STORE=$nostore run desk-case $T/in
rc 65 "a filter given records on a missing store: unknown channel, bad JSON: 65"
test -f $nostore/VERSION; ok $? "... the store was created to quarantine them"
n=$(ls $nostore/rejects/*.raw 2>/dev/null | wc -l | tr -d ' ')
is "$n" 2 "... and both are in rejects/"
DESK_STORE=$T/none2 run desk-webhook channel add app --type async
rc 0 "desk-webhook channel add on a missing store: exit 0"
test -f $T/none2/VERSION; ok $? "... creates it"
DESK_STORE=$T/none2 runin "$(msg u1 hi)" desk-case
rc 0 "and desk-case < messages on it stores them"

# --- fsck --repair replaces a damaged segment durably ---
if command -v strace > /dev/null; then
	fresh
	for i in 1 2 3 4; do msg u$i "m$i"; done > $T/more
	desk-case $T/more > /dev/null
	f=$DESK_STORE/log/00000001.jsonl
	line=$(grep -n '"rec":"message"' $f | sed -n 2p | cut -d: -f1)
	awk -v n=$line 'NR == n { gsub(/"/, "#") } { print }' $f > $T/f && cat $T/f > $f
	# LeakSanitizer cannot run under ptrace (make check-san).
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	strace -f -y -o $T/trace -e trace=fsync,fdatasync,rename,renameat,renameat2,syncfs \
		desk-case fsck --repair > $OUT 2> $ERR
	RC=$?
	# The rename onto the segment, and the temporary file it moves there.
	awk '/rename/ && /00000001\.jsonl"/ { print NR; exit }' $T/trace > $T/at
	at=$(cat $T/at)
	src=$(sed -n "${at:-1}p" $T/trace | sed -n 's/.*rename[a-z0-9]*([^"]*"\([^"]*\)".*/\1/p')
	src=${src##*/}
	[ $RC -eq 0 ] && [ -n "$at" ] &&
	awk -v n="${at:-0}" -v s="/$src>" 'NR < n && /^[0-9]+ +f(data)?sync\(/ && index($0, s) { f = 1 }
		END { exit !f }' $T/trace
	ok $? "fsck --repair: the new segment ($src) is fsynced before it is renamed"
	awk -v n="${at:-0}" 'NR > n && /syncfs\(|fsync\(.*\/log>/ { print "sync"; exit }
		NR > n && /rename/ && /index\// { print "index"; exit }' $T/trace > $T/next
	is "$(cat $T/next)" sync "... and the rename is synced before the index is rebuilt over it"
else
	skip "strace not installed"
	skip "strace not installed"
fi

done_testing
