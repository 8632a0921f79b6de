#!/bin/sh
# libdesk is in layers, each calling only the ones below it (lib/README):
#
#   base < store < schema < domain < rules < connect < loop < cmd
#
# Checked twice: by the headers each file includes, and by the symbols each
# object file needs (nm) against the layer that defines them, which also
# catches a call made through a declaration copied by hand.
. "$(dirname "$0")/lib.sh"

OBJ=$(cd "$DESK_BIN/.." && pwd)
command -v nm > /dev/null; ok $? "nm is there to read the objects with"

# Known exceptions, to be removed one by one as the circles are broken (none
# left today). An entry that is no longer needed fails the test, so the
# list only shrinks.
#   include FILE HEADER   # why
#   call FILE SYMBOL      # why
cat > "$T/allow" <<'EOF'
EOF
sed 's/[[:space:]]*#.*//' "$T/allow" | grep . > "$T/allowed"

# layer PATH: the rank of a file (lib/..., cmd/...) or of an included header.
# The loop itself (lib/loop.c) may call only base and the store: what it
# needs of the layers above is handed to it by whoever runs it.
cat > "$T/layer.awk" <<'EOF'
function layer(p) {
	sub(/^\.\//, "", p)
	if (p ~ /^(lib\/)?base\//) return 0
	if (p ~ /^(lib\/)?store\//) return 1
	if (p ~ /^(lib\/)?schema\//) return 2
	if (p ~ /^(lib\/)?domain\//) return 3
	if (p ~ /^(lib\/)?rules\//) return 3.5
	if (p ~ /^(lib\/)?connect\//) return 4
	if (p ~ /^(lib\/)?loop\.h$/ || p ~ /^lib\/[^\/]*\.c$/) return 5
	if (p ~ /^(lib\/)?desk\.h$/ || p ~ /^cmd\//) return 6
	if (p ~ /^[^\/]*\.h$/) return 6   # a header of cmd/ (webhook.h)
	return -1
}
function reach(p) { return p == "lib/loop.c" ? 1 : layer(p) }
# above FILE LAYER: FILE may not reach a thing of LAYER.
function above(f, l) { return l > layer(f) || (l < layer(f) && l > reach(f)) }
EOF

# Includes: FILE HEADER for every #include "..." in lib/ and cmd/.
( cd "$TOP" && grep -H '^#include "' lib/*.[ch] lib/*/*.[ch] cmd/*.[ch] ) |
	sed 's/:#include "\([^"]*\)".*/ \1/' > "$T/includes"
test "$(wc -l < "$T/includes")" -gt 20; ok $? "the includes are found"
cat "$T/layer.awk" - > "$T/inc.awk" <<'EOF'
{	f = $1; h = $2; lf = layer(f); lh = layer(h)
	if (lf < 0) next
	if (lh < 0) { print "include " f " " h "   (a header of no layer)"; next }
	if (above(f, lh) && !(f ~ /^cmd\// && h == "desk.h"))
		print "include " f " " h
	else if (h == "store/engine.h" && lf != 1 && lf != 2)
		print "include " f " " h "   (the engine's internals)"
	else if (h == "desk.h" && f ~ /^lib\//)
		print "include " f " " h "   (lib/ includes its own layer's header)"
}
EOF
awk -f "$T/inc.awk" "$T/includes" > "$T/inc-bad"

# Symbols: where each global one is defined, and what each object needs.
# The objects of today's sources, not what an older layout left behind.
objs=$(cd "$TOP" && ls lib/*.c lib/*/*.c | sed 's/\.c$/.o/')
missing=$(for o in $objs; do [ -f "$OBJ/$o" ] || echo "$o"; done)
is "$missing" "" "every lib/ source has its object in $OBJ"
for o in $objs; do
	nm -P -g --defined-only "$OBJ/$o" | awk -v f="${o%.o}.c" '$2 ~ /^[TDBRC]$/ { print $1, f }'
done > "$T/defs"
for o in $objs; do
	nm -P -u "$OBJ/$o" | awk -v f="${o%.o}.c" '{ print f, $1 }'
done > "$T/needs"
grep -q '^desk_die lib/base/util.c$' "$T/defs"; ok $? "nm finds desk_die in lib/base/util.c"
grep -q '^lib/domain/case.c desk_log_add$' "$T/needs"; ok $? "nm finds case.c calling desk_log_add"
cat "$T/layer.awk" - > "$T/call.awk" <<'EOF'
NR == FNR { def[$1] = $2; next }
($2 in def) && above($1, layer(def[$2])) { print "call " $1 " " $2 "   (" def[$2] ")" }
EOF
awk -f "$T/call.awk" "$T/defs" "$T/needs" > "$T/call-bad"

# The violations not in the allowlist, and the allowlist entries not used.
cat "$T/inc-bad" "$T/call-bad" | sed 's/   (.*//' | sort -u > "$T/bad"
sort -u "$T/allowed" > "$T/allowed.s"
comm -23 "$T/bad" "$T/allowed.s" > "$T/new"
comm -13 "$T/bad" "$T/allowed.s" > "$T/stale"
grep '^include' "$T/new" > "$T/new-inc"
test ! -s "$T/new-inc"; ok $? "no file includes a header of a layer above its own"
[ -s "$T/new-inc" ] && grep -F -f "$T/new-inc" "$T/inc-bad" | sed 's/^/#   /'
grep '^call' "$T/new" > "$T/new-call"
test ! -s "$T/new-call"; ok $? "no object calls a function defined in a layer above its own"
[ -s "$T/new-call" ] && grep -F -f "$T/new-call" "$T/call-bad" | sed 's/^/#   /'
test ! -s "$T/stale"; ok $? "every known exception is still needed (drop the rest)"
[ -s "$T/stale" ] && sed 's/^/#   /' "$T/stale"

done_testing
