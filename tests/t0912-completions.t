#!/bin/sh
# Completions (issue 13, item 9): bash, zsh and fish, each driven through
# its own entry point (bash: the function complete -p names, called with
# COMP_WORDS and COMP_CWORD; zsh: an interactive zsh on a pty, a TAB typed;
# fish: complete -C), over a store with channels and cases. The candidates
# come from the tools' tables (TOOL __complete), so they are checked once
# against the tables here, and each shell is checked to pass them on.
. "$(dirname "$0")/lib.sh"

with_channel app
with_channel forum
printf '%s\n' '{"channel":"app","user_custom_id":"u1","id":"m1","content":"Hi"}' \
	'{"channel":"forum","user_custom_id":"u2","id":"m2","content":"Hello","subject":"Login"}' |
	desk-case > /dev/null
mkdir -p $T/cwd/sub
: > $T/cwd/in.jsonl

# ---- the candidates, from the tables ----
# complete_words "desk-case list --sta": the candidates bash offers.
complete_words() {
	(cd $T/cwd && bash -c '
		source "$1/completions/desk.bash"
		COMP_WORDS=($2)
		case "$2" in *" ") COMP_WORDS+=("") ;; esac
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		fn=$(complete -p "${COMP_WORDS[0]}" | sed "s/.*-F \([^ ]*\).*/\1/")
		$fn
		[ ${#COMPREPLY[@]} -gt 0 ] && printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$TOP" "$1")
}
is "$(complete_words 'desk-case li')" "list " "bash: desk-case li<TAB>"
is "$(complete_words 'desk-case ')" "backup compact fsck help in.jsonl list merge set show sub " "bash: desk-case's commands and its FILE"
is "$(complete_words 'desk-case list --sta')" "--status " "bash: an option of list"
is "$(complete_words 'desk-case list --status p')" "pending " "bash: a status"
is "$(complete_words 'desk-case list --status open,p')" "open,pending " "bash: a status after a comma"
# bash splits at = (COMP_WORDBREAKS): "--status=c" is three words to it.
is "$(complete_words 'desk-case list --status = c')" "closed " "bash: --status=VALUE"
is "$(complete_words 'desk-case list --status =')" "=closed =open =pending " "bash: --status=<TAB>"
is "$(complete_words 'desk-case list --channel ')" "app forum " "bash: channel names from the store"
is "$(complete_words "desk-case -s $DESK_STORE list --channel f")" "forum " "bash: channel names from the -s store"
is "$(DESK_STORE=$T/none complete_words 'desk-case list --channel ')" "" "bash: no store, no channels (and none made)"
test ! -e $T/none; ok $? "completing creates no store"
is "$(complete_words 'desk-case show ')" "1 2 " "bash: case ids from the store"
is "$(complete_words 'desk-case fsck --')" "--help --repair --store --version " "bash: fsck options"
is "$(complete_words 'desk-case -s ')" "sub " "bash: -s DIR: directories"
is "$(complete_words 'desk-webhook channel ')" "activate add connectors deactivate help keygen list rm secret set show " \
	"bash: desk-webhook channel commands"
is "$(complete_words 'desk-webhook channel add x --connector ')" "$(desk-webhook channel connectors | jq -r .connector | sort | tr '\n' ' ')" \
	"bash: the connectors, from desk-webhook's table"
is "$(complete_words 'desk-webhook channel add x --api')" "--api-url " "bash: channel add options"
is "$(complete_words 'desk-webhook channel set app --no-')" "--no-allow-private --no-service-messages " "bash: channel set options"
is "$(complete_words 'desk-webhook channel activate ')" "app forum " "bash: channel names for activate"
is "$(complete_words 'desk-webhook channel add x --type ')" "async sync " "bash: channel types"
is "$(complete_words 'desk-webhook channel add x --token-file i')" "in.jsonl " "bash: a file"
is "$(complete_words 'desk-webhook se')" "send serve " "bash: desk-webhook se<TAB>"
is "$(complete_words 'desk-webhook serve --max-')" "--max-body --max-connections " "bash: desk-webhook serve options"
is "$(complete_words 'desk-webhook dead ')" "help list retry " "bash: desk-webhook dead commands"
is "$(complete_words 'desk-webhook help ch')" "channel " "bash: help COMMAND"
is "$(complete_words 'desk-identify us')" "user " "bash: desk-identify us<TAB>"
is "$(complete_words 'desk-identify user ')" "help link show unlink update " "bash: desk-identify user commands"
is "$(complete_words 'desk-identify code --channel ')" "app forum " "bash: desk-identify --channel"
is "$(complete_words 'desk-identify user update 3 --f')" "--field " "bash: desk-identify user update options"
is "$(complete_words 'desk-route ')" "check help in.jsonl list sub tick " "bash: desk-route commands"
is "$(complete_words 'desk-route tick --')" "--dry-run --explain --help --rules --store --version " "bash: desk-route tick options"
is "$(complete_words 'desk-route list -')" "--help --rules --store --table --version -V -h -r -s " "bash: desk-route list options"
is "$(complete_words 'desk-reply out')" "outbox " "bash: desk-reply out<TAB>"
is "$(complete_words 'desk-reply outbox --')" "--all --help --store --table --version " "bash: desk-reply outbox options"
is "$(complete_words 'desk-case show --t')" "--table --thread " "bash: desk-case show's views"
is "$(complete_words 'desk-webhook dead list --')" "--help --store --table --version " "bash: desk-webhook dead list --table"
is "$(complete_words 'desk-case --no')" "--no-progress " "bash: desk-case --no-progress"
is "$(complete_words 'desk-case backup ')" "sub " "bash: desk-case backup DEST: directories"
is "$(complete_words 'desk-reply --as-user --user 3 --channel ')" "app forum " "bash: desk-reply --channel"
is "$(complete_words 'desk-reply --case ')" "1 2 " "bash: desk-reply --case: case ids"
is "$(complete_words 'desk-reply --re')" "--reopen " "bash: desk-reply options"

# Every option of every command is offered: the table is the parser's.
for tool in $(ls $DESK_BIN); do
	$tool --help | awk '/^Commands:/ { c = 1; next } /^$/ { c = 0 } c && $1 != "help" {
		if ($2 ~ /^[a-z]+$/) print $1 " " $2; else print $1 }' > $T/cmds
	echo >> $T/cmds
	while read -r cmd; do
		$tool $cmd --help | sed -n '/^Options:$/,/^$/s/^ *\(-[a-zA-Z], \)\{0,1\}\(--[a-z-]*\).*/\2/p' |
			sort > $T/want
		complete_words "$tool${cmd:+ $cmd} --" | tr ' ' '\n' | grep . | sort > $T/got
		is "$(cat $T/got)" "$(cat $T/want)" "bash: $tool${cmd:+ $cmd} --<TAB>: every option of its help"
	done < $T/cmds
done

# ---- zsh: typed into an interactive zsh ----
zcomplete() { # zcomplete LINE: what zsh draws after LINE<TAB>
	(cd $T/cwd && zsh -f "$TOP/tests/zsh-complete.zsh" "$TOP/completions" $T "$1") > $T/zsh.out 2>&1
}
if command -v zsh > /dev/null 2>&1 && zsh -f -c 'zmodload zsh/zpty' 2> /dev/null; then
	zsh -n "$TOP/completions/_desk"; ok $? "zsh: the completions parse"
	run zsh -f -c "fpath=($TOP/completions \$fpath); autoload -Uz compinit; compinit -u -d $T/zcomp;
		for t in desk-case desk-identify desk-reply desk-route desk-webhook; do print \$t=\${_comps[\$t]}; done"
	is "$(tr '\n' ' ' < $OUT)" "desk-case=_desk desk-identify=_desk desk-reply=_desk desk-route=_desk desk-webhook=_desk " \
		"zsh: compinit binds every tool to _desk"
	zcomplete 'desk-case li'
	like $T/zsh.out '^> desk-case list $' "zsh: desk-case li<TAB> completes the command"
	zcomplete 'desk-case list --channel '
	like $T/zsh.out '^app  -- custom$' "zsh: channel names from the store, with their connector"
	like $T/zsh.out '^forum  -- custom$' "zsh: both"
	zcomplete 'desk-webhook channel add x --conn'
	like $T/zsh.out '^> desk-webhook channel add x --connector $' "zsh: an option"
	zcomplete 'desk-webhook channel add x --connector '
	for c in $(desk-webhook channel connectors | jq -r .connector); do
		like $T/zsh.out "^$c  -- " "zsh: the connector $c"
	done
	zcomplete 'desk-case show '
	like $T/zsh.out '^2  -- open: Login$' "zsh: case ids, with status and subject"
	zcomplete 'desk-case list --status=cl'
	like $T/zsh.out '^> desk-case list --status=closed $' "zsh: --status=VALUE"
	zcomplete 'desk-webhook channel add x --token-file i'
	like $T/zsh.out '^> desk-webhook channel add x --token-file in.jsonl $' "zsh: a file, by zsh's _files"
	zcomplete 'desk-identify user '
	like $T/zsh.out '^update  -- Change a user' "zsh: subcommands with what they do"
else
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13; do pass "# SKIP zsh with zsh/zpty is not installed"; done
fi

# ---- fish: complete -C, fish's own completion entry point ----
fcomplete() { # fcomplete LINE: fish's candidates, as "word<TAB>description" lines
	(cd $T/cwd && fish --no-config -c "source $TOP/completions/desk.fish; complete -C '$1'") > $T/fish.out 2>&1
}
if command -v fish > /dev/null 2>&1; then
	fish --no-execute "$TOP/completions/desk.fish"; ok $? "fish: the completions parse"
	fcomplete 'desk-case li'
	is "$(cat $T/fish.out)" "list	List cases, most recent activity first." "fish: desk-case li<TAB>"
	fcomplete 'desk-case list --channel '
	is "$(cut -f 1 $T/fish.out | tr '\n' ' ')" "app forum " "fish: channel names from the store"
	fcomplete 'desk-webhook channel add x --connector '
	is "$(cut -f 1 $T/fish.out | tr '\n' ' ')" "$(desk-webhook channel connectors | jq -r .connector | sort | tr '\n' ' ')" \
		"fish: the connectors"
	fcomplete 'desk-case list --status=p'
	is "$(cat $T/fish.out)" "--status=pending" "fish: --status=VALUE"
	fcomplete 'desk-case show '
	is "$(cut -f 1 $T/fish.out | tr '\n' ' ')" "1 2 " "fish: case ids (fish sorts them)"
	fcomplete 'desk-webhook channel add x --token-file i'
	is "$(cut -f 1 $T/fish.out)" "in.jsonl" "fish: a file"
	fcomplete 'desk-route tick --d'
	like $T/fish.out '^--dry-run	say what the rules would do' "fish: options with what they do"
else
	for i in 1 2 3 4 5 6 7 8; do pass "# SKIP fish is not installed"; done
fi

# ---- installed where each shell looks ----
O=$(cd "$DESK_BIN/.." && pwd)
for prefix in /usr /usr/local; do
	d=$T/root$prefix
	make -s -C "$TOP" O="$O" DESTDIR=$T/root PREFIX=$prefix install > $T/make.out 2>&1
	ok $? "make install PREFIX=$prefix"
	zdir=$([ $prefix = /usr ] && echo vendor-completions || echo site-functions)
	test -f $d/share/zsh/$zdir/_desk; ok $? "PREFIX=$prefix: zsh's _desk in share/zsh/$zdir"
	command -v zsh > /dev/null && { zsh -fc 'print -l $fpath' | grep -qx "$prefix/share/zsh/$zdir"
		ok $? "PREFIX=$prefix: Debian's zsh looks in $prefix/share/zsh/$zdir"; } ||
		pass "# SKIP no zsh"
	for tool in $(ls $DESK_BIN); do
		test -f $d/share/bash-completion/completions/$tool && test -f $d/share/fish/vendor_completions.d/$tool.fish
		ok $? "PREFIX=$prefix: bash and fish completions of $tool"
	done
	make -s -C "$TOP" O="$O" DESTDIR=$T/root PREFIX=$prefix uninstall > $T/make.out 2>&1
	ok $? "make uninstall PREFIX=$prefix"
	is "$(find $T/root -type f)" "" "PREFIX=$prefix: uninstall leaves no file"
done
# fish looks in the vendor_completions.d of each XDG_DATA_DIRS directory
# (the desktop's default: /usr/local/share:/usr/share), and in its own
# prefix's when that is unset.
if command -v fish > /dev/null; then
	mkdir -p $T/home
	HOME=$T/home XDG_DATA_DIRS=/usr/local/share:/usr/share fish -c 'string join \n $fish_complete_path' > $T/fpath
	for prefix in /usr /usr/local; do
		grep -qx $prefix/share/fish/vendor_completions.d $T/fpath
		ok $? "fish looks in $prefix/share/fish/vendor_completions.d"
	done
else
	pass "# SKIP no fish"; pass "# SKIP no fish"
fi

done_testing
