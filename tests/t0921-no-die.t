#!/bin/sh
# The error contract (lib/README): the library returns errors and the
# filters die through wrappers. No lib/ object but the ones below may call
# a function that ends the process (desk_die, desk_die_errno, desk_die_err,
# desk_usage, desk_buf_write, exit, _exit, _Exit, quick_exit, abort), read
# from the symbols each object needs (nm), so a call cannot hide behind a
# macro or a prototype copied by hand.
. "$(dirname "$0")/lib.sh"

OBJ=$(cd "$DESK_BIN/.." && pwd)

# Who may end the process, and why. An entry no longer needed fails the
# test, so the list only shrinks.
cat > "$T/allow" <<'EOF'
lib/base/util.c _exit              # desk_die itself (and desk_xmalloc's out of memory)
lib/base/opt.c exit                # -h, -V and usage: the command line
lib/base/opt.c desk_die            # bad options and operands (64), no store named (78)
lib/base/opt.c desk_die_errno      # -V cannot write to stdout
lib/base/opt.c desk_buf_write      # --help cannot write to stdout (74)
lib/base/env.c desk_die            # a bad DESK_* variable, at start-up (78)
lib/base/out.c desk_buf_write      # a command's output cannot be written (74)
lib/filter.c desk_die_err          # desk_open: the tools' die wrapper over the store's errors
lib/loop.c desk_die                # the filters' loop: rejects/ cannot be written
lib/loop.c desk_die_errno          # ... nor the input read
lib/loop.c desk_buf_write          # ... nor the output written
EOF
sed 's/[[:space:]]*#.*//' "$T/allow" | grep . | sort -u > "$T/allowed"

objs=$(cd "$TOP" && ls lib/*.c lib/*/*.c | sed 's/\.c$/.o/')
missing=$(for o in $objs; do [ -f "$OBJ/$o" ] || echo "$o"; done)
is "$missing" "" "every lib/ source has its object in $OBJ"
for o in $objs; do
	nm -P -u "$OBJ/$o" | awk -v f="${o%.o}.c" '
	$1 ~ /^(desk_die|desk_die_errno|desk_die_err|desk_usage|desk_buf_write|exit|_exit|_Exit|quick_exit|abort)$/ {
		print f, $1 }'
done | sort -u > "$T/dying"
grep -q '^lib/loop.c desk_die$' "$T/dying"; ok $? "nm finds loop.c calling desk_die"
grep -q '^lib/filter.c desk_die_err$' "$T/dying"; ok $? "nm finds desk_open's wrapper"

comm -23 "$T/dying" "$T/allowed" > "$T/new"
comm -13 "$T/dying" "$T/allowed" > "$T/stale"
test ! -s "$T/new"; ok $? "no other lib/ object ends the process"
[ -s "$T/new" ] && sed 's/^/#   /' "$T/new"
test ! -s "$T/stale"; ok $? "every exception is still needed (drop the rest)"
[ -s "$T/stale" ] && sed 's/^/#   /' "$T/stale"
for layer in store schema; do
	grep -q "^lib/$layer/" "$T/dying"; ok $((! $?)) "nothing in lib/$layer/ dies"
done
grep -E '^lib/(domain|connect)/' "$T/dying" > "$T/domain"
test ! -s "$T/domain"; ok $? "nothing in lib/domain/ or lib/connect/ dies"
[ -s "$T/domain" ] && sed 's/^/#   /' "$T/domain"

# The count the issue asked for: call sites of desk_die and desk_die_errno.
sites=$(cd "$TOP" && grep -E 'desk_die(_errno)?\(' lib/*.c lib/*/*.c |
	grep -v -E '^lib/base/util\.c:(desk_die|desk_die_errno)\(' | wc -l)
echo "# desk_die and desk_die_errno call sites in lib/: $sites"

done_testing
