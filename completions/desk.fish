# fish completion for the desk tools: desk-case, desk-identify, desk-reply,
# desk-route, desk-webhook. The candidates, with what each does, come from
# the tool itself ("TOOL __complete WORD..."), out of the same tables as its
# --help and its option parser. One file, installed under each tool's name
# (fish loads a command's completions from NAME.fish).

function __desk_complete
    set -l words (commandline -opc)
    set -l cur (commandline -ct)
    $words[1] __complete $words[2..-1] "$cur" 2>/dev/null | while read -l line
        switch $line
            case :file
                __fish_complete_path "$cur"
            case :dir
                __fish_complete_directories "$cur"
            case '*'
                printf '%s\n' $line
        end
    end
end

for tool in desk-case desk-identify desk-reply desk-route desk-webhook
    complete -c $tool -f -a '(__desk_complete)'
end
