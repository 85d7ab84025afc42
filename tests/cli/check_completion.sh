#!/bin/sh
# check_completion.sh DIR: the bash completion files in DIR (one per tool)
# complete as a user types: 'otk-sinkhorn --re' offers --reg, every tool's
# '--he' offers --help, otk-mongegap's first word offers its commands.
set -u
dir=$1
complete_words() { # FILE WORD...: the candidates for the last WORD
    file=$1
    shift
    bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
             _otkit_complete "$1" "${COMP_WORDS[COMP_CWORD]}" "$1"
             printf "%s\n" "${COMPREPLY[@]}"' sh "$file" "$@"
}
status=0
expect() { # WANT FILE WORD...
    want=$1
    shift
    got=$(complete_words "$@")
    printf '%s\n' "$got" | grep -qx -e "$want" || {
        shift
        echo "completing '$*' does not offer $want (offers: $(echo $got))"
        status=1
    }
}
expect --reg "$dir/otk-sinkhorn" otk-sinkhorn --re
expect --tau-a "$dir/otk-sinkhorn" otk-sinkhorn --reg 1 --tau
for t in otk-sinkhorn otk-emd otk-quadratic otk-sparse otk-mongegap otk-maid; do
    expect --help "$dir/$t" "$t" --he
done
expect fit "$dir/otk-mongegap" otk-mongegap f
expect --plan-format "$dir/otk-emd" otk-emd --cost C.csv --plan-
exit $status
