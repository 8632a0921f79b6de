#!/bin/sh
# The build is warning-free: everything compiles with -Werror, and the
# warnings cannot be switched off by a user's CFLAGS.
. "$(dirname "$0")/lib.sh"

run make -s -C "$TOP" O="$T/b" CFLAGS="-O2 -Werror" all
rc 0 "make with -Werror: exit 0"
is "$(grep -ci warning $ERR $OUT | awk -F: '{ s += $NF } END { print s + 0 }')" 0 "no warnings"
run make -n -C "$TOP" O="$T/b2" CFLAGS="-O0" "$T/b2/lib/util.o"
like $OUT '-O0 .*-Wall -Wextra' "a user's CFLAGS come first; -Wall -Wextra after them"
for t in $(ls "$T/b/bin"); do
	test -x "$T/b/bin/$t"; ok $? "built $t"
done
# desk-case must not load libcurl: it costs start-up time on every run.
ldd "$T/b/bin/desk-case" > $T/ldd
unlike $T/ldd 'libcurl|libmicrohttpd' "desk-case does not link libcurl or libmicrohttpd"

done_testing
