#!/bin/sh
# The libFuzzer targets (tests/fuzz/) run over their seed corpus and then
# some 10,000 mutated inputs each (at most 10 s): any crash, leak, undefined
# behaviour or broken invariant fails the test. make check builds them with
# clang into build-fuzz/ and says where in DESK_FUZZ; without clang they are
# skipped. `make fuzz` is the longer run.
. "$(dirname "$0")/lib.sh"

if [ -z "${DESK_FUZZ:-}" ]; then
	T_N=1
	echo "ok 1 # skip clang not installed"
	done_testing
	exit
fi

# Reports on stderr, where this test reads them, not in tests/run's log.
ASAN_OPTIONS=detect_leaks=1
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS UBSAN_OPTIONS
for src in "$TOP"/tests/fuzz/*.c; do
	t=$(basename "$src" .c)
	bin=$DESK_FUZZ/fuzz-$t
	[ -x "$bin" ]; ok $? "$t: fuzz-$t is built"
	# A scratch copy: what the run finds is not added to the seeds.
	mkdir $T/$t
	cp "$TOP"/tests/fuzz/corpus/$t/* $T/$t/
	run "$bin" -close_fd_mask=3 -dict="$TOP/tests/fuzz/json.dict" \
		-runs=10000 -max_total_time=10 -artifact_prefix=$T/$t- $T/$t
	rc 0 "$t: no crash over the seeds and 10,000 runs"
	unlike $ERR 'ERROR: |runtime error|SUMMARY|deadly signal' "$t: no sanitizer report"
	like $ERR '^Done [0-9]+ runs' "$t: $(grep '^Done' $ERR)"
	is "$(ls $T | grep -c "^$t-")" 0 "$t: no crash input written"
done

done_testing
