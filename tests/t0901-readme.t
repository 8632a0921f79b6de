#!/bin/sh
# The README is true (issue 13, item 2): its ```sh blocks are run, in
# order, in one bash (as a reader pastes them: exports and background jobs
# carry over; job control on, as in a terminal, so that "kill %1" stops a
# whole pipeline), from a directory laid out like this one (build/bin, the
# tools under test; examples/, man/, completions/). A block fails when a
# command in it fails (set -e). A block after a line
#   <!-- no-test: REASON -->
# is not run, for the reason given: the build and the suite itself (which
# would run this test again), make install (t0912 installs into a scratch
# DESTDIR), what needs an outside account, what is not merged yet.
. "$(dirname "$0")/lib.sh"

top=$T/top
mkdir -p $top/build
ln -s "$DESK_BIN" $top/build/bin
for d in examples man completions; do ln -s "$TOP/$d" $top/$d; done
mkdir -p $T/blocks

# Split the README into blocks: block.N, and skip.N (its reason) for those not run.
awk -v dir=$T/blocks '
	/^<!-- no-test: .* -->$/ { why = $0; sub(/^<!-- no-test: /, "", why); sub(/ -->$/, "", why); next }
	/^```sh$/ && !inb { inb = 1; n++; printf "" > (dir "/block." n)
		if (why != "") print why > (dir "/skip." n); why = ""; next }
	/^```/ && inb { inb = 0; next }
	/^```/ { other++ }
	inb { print >> (dir "/block." n) }
	/[^ ]/ && !inb && !/^<!--/ { why = "" }
	END { print n + 0 > (dir "/count"); print other + 0 > (dir "/other") }' "$TOP/README.md"
n=$(cat $T/blocks/count)
[ "$n" -ge 8 ]; ok $? "README: its sh blocks found ($n)"
is "$(cat $T/blocks/other)" 0 "README: every code block is a sh block (run, or marked no-test)"

# One script: each block in turn, the number of the one running kept.
{
	echo 'set -em'
	echo "trap 'for p in \$(jobs -p); do kill -TERM -- -\$p 2> /dev/null; done' EXIT"
	echo "cd '$top'"
	i=1
	while [ $i -le $n ]; do
		if [ ! -f $T/blocks/skip.$i ]; then
			echo "echo $i > '$T/at'"
			echo "{"; cat $T/blocks/block.$i; echo "} > '$T/blocks/out.$i' 2>> '$T/stderr'"
		fi
		i=$((i + 1))
	done
	echo "echo done > '$T/at'"
} > $T/readme.sh
( unset DESK_STORE DESK_NOW; TMPDIR=$T timeout 300 bash $T/readme.sh > /dev/null 2>> $T/stderr ) || true
at=$(cat $T/at 2> /dev/null)

i=1 ran=0
while [ $i -le $n ]; do
	first=$(grep -m 1 . $T/blocks/block.$i | head -c 60)
	if [ -f $T/blocks/skip.$i ]; then
		[ -s $T/blocks/skip.$i ]; ok $? "README block $i ($first): not run: $(cat $T/blocks/skip.$i)"
	elif [ "$at" = done ] || [ "$at" -gt $i ] 2> /dev/null; then
		pass "README block $i: $first"
		ran=$((ran + 1))
	else
		fail "README block $i: $first" "$([ "$at" = $i ] && echo "failed" || echo "not reached")" \
			"stderr: $(tail -n 5 $T/stderr)"
	fi
	i=$((i + 1))
done
[ "$ran" -ge 6 ]; ok $? "README: most blocks run ($ran of $n)"

# What the quick start says happens, happened.
out_of() { # out_of TEXT: the output of the block whose text has TEXT
	for f in $T/blocks/block.*; do
		grep -qF -- "$1" $f && { cat $T/blocks/out.${f##*.} 2> /dev/null; return; }
	done
}
out_of 'curl -s' > $T/q
like $T/q '^\{"status":"accepted",' "quick start: serve answers once the message is stored"
out_of 'desk-case list |' > $T/q
is "$(grep '^{"case_id"' $T/q)" '{"case_id":1,"status":"pending","message_count":3}' \
	"quick start: the case, pending, with the message, the rule's reply and the agent's"
out_of 'desk-webhook outbox |' > $T/q
like $T/q '"via":"rule","state":"retry"' "quick start: the rule's reply tried, to be retried"
like $T/q '"via":"agent"' "quick start: the agent's reply queued"
out_of 'kill %1' > $T/q
like $T/q '^\{"type":"delivery","case_id":1,"status":"retry"\}$' "quick start: send wrote its delivery event"
out_of 'desk-case fsck' > $T/q
like $T/q '"damage":0' "operating: fsck of a fresh store"
# Nothing left running or lying about.
is "$(ls $top)" "build
completions
examples
man" "the quick start cleans up after itself"

done_testing
