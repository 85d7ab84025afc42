#!/bin/sh
# completion.sh TOOL OUT: write OUT, the bash completion of TOOL (a built
# otk-* executable), from its --help: the long and short options listed
# there (the option table's), and a first word for each subcommand of its
# "Usage:"/"or:" lines. Installed as share/bash-completion/completions/NAME.
set -eu
tool=$1
out=$2
name=${tool##*/}
help=$("$tool" --help)
opts=$(printf '%s\n' "$help" |
    grep -oE '^ +(-[A-Za-z0-9], )?--[A-Za-z0-9][A-Za-z0-9-]*' |
    grep -oE -- '-(-[A-Za-z0-9][A-Za-z0-9-]*|[A-Za-z0-9])' | sort -u | tr '\n' ' ')
cmds=$(printf '%s\n' "$help" |
    sed -nE "s/^(Usage|  or): +$name +([a-z][a-z-]*)( .*|$)/\\2/p" | tr '\n' ' ')
var=$(printf '%s' "$name" | tr -c 'A-Za-z0-9\n' '_')
cat > "$out" <<EOS
# bash completion for $name (otkit), generated from its --help.

_otkit_${var}_options="${opts% }"
_otkit_${var}_commands="${cmds% }"

# Options after '-', a subcommand as the first word, else file names.
_otkit_complete()
{
    local cur=\${COMP_WORDS[COMP_CWORD]} var=\${1##*/}
    var=\${var//[^A-Za-z0-9]/_}
    local opts="_otkit_\${var}_options" cmds="_otkit_\${var}_commands"
    if [[ \$cur == -* ]]; then
        COMPREPLY=(\$(compgen -W "\${!opts}" -- "\$cur"))
    elif [[ \$COMP_CWORD -eq 1 && -n \${!cmds} ]]; then
        COMPREPLY=(\$(compgen -W "\${!cmds}" -- "\$cur"))
    else
        COMPREPLY=(\$(compgen -f -- "\$cur"))
    fi
}
complete -o filenames -F _otkit_complete $name
EOS
