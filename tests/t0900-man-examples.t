#!/bin/sh
# The EXAMPLES of every man page, run: a line "$ command" is run (all of a
# page's commands in one shell, in order), and the lines after it up to the
# next command are its exact standard output.
. "$(dirname "$0")/lib.sh"

for page in "$TOP"/man/*.[1-8]; do
	name=$(basename "$page")
	dir=$T/$name
	mkdir -p "$dir"
	# Split the examples into cmd.N and want.N, undoing mdoc's escapes.
	awk -v dir="$dir" '
		/^\.Sh / { ex = ($0 == ".Sh EXAMPLES"); next }
		ex && /^\.Bd -literal/ { lit = 1; next }
		ex && /^\.Ed/ { lit = 0; next }
		ex && lit {
			gsub(/\\e/, "\\"); gsub(/\\\(aq/, "'"'"'"); gsub(/\\-/, "-"); gsub(/\\&/, "")
			if (substr($0, 1, 2) == "$ ") {
				n++
				print substr($0, 3) > (dir "/cmd." n)
				printf "" > (dir "/want." n)
			} else if (n)
				print >> (dir "/want." n)
		}
		END { print n + 0 > (dir "/count") }' "$page"
	n=$(cat "$dir/count")
	# Every tool's page and the overview have examples (issue 13); the
	# pages of formats and events may.
	case $name in *.1 | desk.7) [ "$n" -gt 0 ]; ok $? "$name: has EXAMPLES, run here" ;; esac
	[ "$n" -gt 0 ] || continue
	# One script for the page: each command's stdout and status kept apart.
	{
		echo "cd '$dir'"
		i=1
		while [ $i -le "$n" ]; do
			echo "{ $(cat "$dir/cmd.$i")
} > '$dir/got.$i' 2>> '$dir/stderr'; echo \$? > '$dir/rc.$i'"
			i=$((i + 1))
		done
	} > "$dir/script.sh"
	( unset DESK_STORE DESK_NOW; TMPDIR=$dir sh "$dir/script.sh" ) || true
	i=1
	while [ $i -le "$n" ]; do
		cmd=$(head -c 60 "$dir/cmd.$i")
		st=$(cat "$dir/rc.$i" 2>/dev/null || echo missing)
		if [ "$st" = 0 ] && cmp -s "$dir/want.$i" "$dir/got.$i"; then
			pass "$name: $cmd"
		else
			fail "$name: $cmd" "exit status $st" "want: $(cat "$dir/want.$i")" \
				"got:  $(cat "$dir/got.$i" 2>/dev/null)" "stderr: $(tail -n 3 "$dir/stderr")"
		fi
		i=$((i + 1))
	done
done

done_testing
