#!/bin/sh
# The build is warning-free: everything compiles with -Werror, and the
# warnings cannot be switched off by a user's CFLAGS.
. "$(dirname "$0")/lib.sh"
# A build of its own, not a part of the make that runs the tests: under
# `make -j2 check` the inherited MAKEFLAGS name a jobserver this make cannot
# reach, and make warns "jobserver unavailable".
unset MAKEFLAGS MFLAGS MAKELEVEL

run make -s -C "$TOP" O="$T/b" CFLAGS="-O2 -Werror" all
rc 0 "make with -Werror: exit 0"
is "$(grep -ci warning $ERR $OUT | awk -F: '{ s += $NF } END { print s + 0 }')" 0 "no warnings"
# A debug build for real: at -O0 nothing is inlined, so every library the
# code needs must be on the link line.
run make -C "$TOP" O="$T/b0" CFLAGS="-O0 -g" all
rc 0 'make CFLAGS="-O0 -g": builds and links'
"$T/b0/bin/desk-case" -V > /dev/null 2>&1; ok $? "the -O0 desk-case runs"
grep -E ' -c -o ' $OUT > $T/cc
[ "$(lines $T/cc)" -gt 0 ] &&
	[ "$(grep -cE ' -O0 -g .*-Wall -Wextra ' $T/cc)" -eq "$(lines $T/cc)" ]
ok $? "a user's CFLAGS come first on every compile line; -Wall -Wextra after them"
for t in $(ls "$T/b/bin"); do
	test -x "$T/b/bin/$t"; ok $? "built $t"
done
# desk-case must not load libcurl: it costs start-up time on every run.
ldd "$T/b/bin/desk-case" > $T/ldd
unlike $T/ldd 'libcurl|libmicrohttpd' "desk-case does not link libcurl or libmicrohttpd"

# make install / uninstall with PREFIX and DESTDIR
run make -s -C "$TOP" O="$T/b" CFLAGS="-O2" PREFIX=/usr DESTDIR="$T/root" install
rc 0 "make install: exit 0"
for f in bin/desk-case bin/desk-identify bin/desk-reply bin/desk-webhook \
    share/man/man1/desk-case.1 share/man/man5/desk-store.5 share/man/man7/desk-events.7 \
    share/man/man7/desk.7 share/bash-completion/completions/desk-reply \
    share/zsh/vendor-completions/_desk share/fish/vendor_completions.d/desk-case.fish; do
	test -e "$T/root/usr/$f"; ok $? "installed /usr/$f"
done
"$T/root/usr/bin/desk-case" -V > $T/v; ok $? "the installed tool runs"
run make -s -C "$TOP" O="$T/b" PREFIX=/usr DESTDIR="$T/root" uninstall
rc 0 "make uninstall: exit 0"
is "$(find "$T/root" -type f | wc -l | tr -d ' ')" 0 "uninstall removes every file install made"

# scripts/deps on a machine without the packages, not as root: it names the
# exact command and exits 69 (as root it would run apt-get itself).
if command -v runuser > /dev/null && [ "$(id -u)" -eq 0 ]; then
	# A PATH with apt-get and id, and none of the tools it looks for; and a
	# copy of the script nobody can read wherever the checkout is (a clone
	# in /root is not).
	mkdir -p $T/fakebin
	ln -s "$(command -v apt-get)" "$(command -v id)" $T/fakebin/
	cp "$TOP/scripts/deps" $T/fakebin/deps
	chmod 755 $T $T/fakebin
	chmod 644 $T/fakebin/deps
	runuser -u nobody -- /usr/bin/env PATH=$T/fakebin /bin/sh $T/fakebin/deps > $OUT 2> $ERR
	RC=$?
	rc 69 "deps, missing packages, not root: exit 69"
	like $ERR "install them with: sudo apt-get install -y --no-install-recommends pkg-config libsodium-dev libcurl4-openssl-dev libmicrohttpd-dev jq mandoc zsh fish curl wrk strace procps gdb clang libclang-rt-dev\$" \
		"and prints the exact apt-get line"
else
	env PATH=/nonexistent /bin/sh "$TOP/scripts/deps" > $OUT 2> $ERR
	RC=$?
	[ "$RC" -eq 69 ] || [ "$RC" -eq 0 ]; ok $? "deps without its tools: 69, or 0 after installing as root"
fi

done_testing
