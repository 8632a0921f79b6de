#!/bin/sh
# desk-store(5) names everything the code writes: every record type, every
# slot file and index file, and every file and directory of the store. The
# names are taken from the C sources, so a new one cannot go undocumented.
. "$(dirname "$0")/lib.sh"

man=$TOP/man/desk-store.5
src="$TOP/lib/*.c $TOP/lib/*/*.c $TOP/cmd/*.c"
# The sources' text, but for #include lines ("base/base.h" is no store path).
sources() { cat $src | grep -v '^#include'; }
# documented MACRO WORD: WORD is an argument of MACRO (Ql, Pa) in the page.
documented() { grep -Eq "^\..*$1 (.* )?$(printf '%s' "$2" | sed 's/[.]/\\./g')( |\$)" "$man"; }

# Record types: what a "rec" is set to, and what apply and fsck (the
# schema, lib/schema/) dispatch on; other layers compare other "type"s.
recs=$( { sources | grep -o '"rec", "[a-z_]*"\|with_rec("[a-z_]*"'
	cat $TOP/lib/schema/*.c | grep -o 'strcmp(type, "[a-z_]*")'; } |
	sed 's/.*"\([a-z_]*\)".*/\1/' | sort -u)
# The slot files, one per table, and the other index files.
tables=$(sed -n '/desk_table_names\[DESK_NTABLES\] = {/,/};/p' $TOP/lib/schema/apply.c | grep -o '"[a-z_]*"' | tr -d '"')
index=$(for t in $tables; do echo index/$t.slots; done
	sources | grep -o '"index/[a-z_]*\.[a-z]*"' | tr -d '"' | sort -u)
# The store's directories, its top-level files, and fixed paths inside them.
dirs=$(sed -n '/subdirs\[[A-Z_]*\] = {/,/};/p' $TOP/lib/store/store.c | grep -o '"[a-z_]*"' | tr -d '"')
is "$(echo $dirs)" "log index channels secrets rejects tmp" "the store's directories are found in the code"
files=$(sources | grep -o '\(openat\|desk_store_put\|desk_store_get\|desk_store_open_file\)([a-z>-]*, "[A-Za-z_]*"' |
	sed 's/.*"\([A-Za-z_]*\)"/\1/' | sort -u)
paths=$(sources | grep -o '"[a-z]*/[a-z_]*\.[a-z]*"' | tr -d '"' | grep -v '^index/' | sort -u)
# Names made with a format (log/%08u.jsonl): their directory and extension.
parts=$(sources | grep -o '"[a-z]*/[^" ]*%[^" ]*\.[a-z]*"' | tr -d '"' | grep -v '^index/' |
	sed 's|^\([a-z]*/\).*\(\.[a-z]*\)$|\1 \2|' | tr ' ' '\n' | sort -u)

# The extraction itself must find what is known to be there.
is "$(echo $recs)" "case code command delivery emitted hook ident message rotation route rulemark user" "the record types found in the sources"
is "$(echo $tables)" "users cases messages codes outbox caselinks lists" "the tables found in the sources"
like_words() { echo " $1 " | grep -q " $2 "; ok $? "$3"; }
like_words "$(echo $index)" index/keys.hx "index/keys.hx is found in the sources"
like_words "$(echo $files)" VERSION "VERSION is found in the sources"
like_words "$(echo $parts)" .jsonl "log/NNNNNNNN.jsonl is found in the sources"

for r in $recs; do
	documented Ql "$r"; ok $? "desk-store(5) documents the record type '$r'"
done
for f in $index; do
	documented Pa "$f"; ok $? "desk-store(5) documents $f"
done
for d in $dirs; do
	documented Pa "$d/"; ok $? "desk-store(5) documents $d/"
done
for f in $files $paths $parts; do
	documented Pa "$f" || documented Pa "$f/"; ok $? "desk-store(5) documents $f"
done
# And the other way: the page's list of record types is exactly the code's.
listed=$(sed -n '/^\.Ss Records/,/^\.S[hs] /p' "$man" | sed -n 's/^\.It Ql \([a-z_]*\)$/\1/p' | sort)
is "$(echo $listed)" "$(echo $recs)" "desk-store(5) lists under Records exactly the record types the code writes"
# The quarantine of an oversized line is bounded, and the page says how.
mandoc -Tascii "$man" | col -bx | tr -s ' \n' '  ' > $T/text
like $T/text 'holds the first DESK_MAX_RECORD bytes of what was rejected, and the error event says how long the line was' \
	"desk-store(5) says what part of an oversized line is kept"

done_testing
