#!/bin/sh
# tests/run's last line is what CI tools read (issue 13, item 10):
# "N passed, N failed", counting a file that fails by its exit status or
# its plan as one failure even when each of its checks passed.
. "$(dirname "$0")/lib.sh"

mkdir -p $T/t
printf '%s\n' 'echo "ok 1 - a"' 'echo "ok 2 - b"' 'echo "1..2"' > $T/t/t1-good.t
printf '%s\n' 'echo "ok 1 - a"' 'echo "not ok 2 - b"' 'echo "not ok 3 - c"' 'echo "1..3"' 'exit 1' > $T/t/t2-bad.t
printf '%s\n' 'echo "ok 1 - a"' 'echo "1..2"' > $T/t/t3-short.t
printf '%s\n' 'echo "ok 1 - a"' 'echo "1..1"' 'exit 3' > $T/t/t4-status.t

DESK_TEST_LOGS=$T/logs sh "$TOP/tests/run" $T/t/t1-good.t > $OUT 2>&1; RC=$?
rc 0 "all passed: exit 0"
is "$(tail -n 1 $OUT)" "2 passed, 0 failed" "all passed: the last line"
DESK_TEST_LOGS=$T/logs sh "$TOP/tests/run" $T/t/*.t > $OUT 2>&1; RC=$?
rc 1 "failures: exit 1"
# 2 + 1 + 1 + 1 passed; 2 checks failed, a short plan, an exit status.
is "$(tail -n 1 $OUT)" "5 passed, 4 failed" "failures: the last line counts checks and files"
like $OUT '^t3-short.t +FAILED \(planned 2, ran 1\)' "a short plan is still reported"
like $OUT '^t4-status.t +FAILED \(exit 3\)' "an exit status is still reported"

done_testing
