# zsh -f tests/zsh-complete.zsh COMPLETIONS-DIR SCRATCH-DIR LINE: types LINE
# and a TAB into an interactive zsh (zsh/zpty, zsh's own terminal) with the
# completions of COMPLETIONS-DIR loaded by compinit, and prints what zsh
# drew, escape sequences and carriage returns removed: the line as
# completed, or the list of candidates under it.
zmodload zsh/zpty || exit 2
zpty z zsh -f -i
zpty -w z "PS1='> '; fpath=($1 \$fpath); autoload -Uz compinit; compinit -u -d $2/zcompdump; LISTMAX=1000; zstyle ':completion:*' list-grouped false; print -r -- 'READ''Y'"
local out= line
integer n=0
# Until the shell is ready (READY, which its echo of the command is not).
while (( n++ < 100 )); do
	if zpty -r -t z line; then out+=$line; [[ $out == *READY* ]] && break
	else sleep 0.1; fi
done
zpty -w -n z "$3"$'\t'
out=
n=0
# What it draws, until it has been quiet for half a second.
while (( n < 5 )); do
	if zpty -r -t z line; then out+=$line; n=0
	else sleep 0.1; (( n++ )); fi
done
zpty -d z
print -r -- "$out" | sed -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' -e 's/\r/\n/g' -e 's/\x07//g' -e 's/.\x08//g'
