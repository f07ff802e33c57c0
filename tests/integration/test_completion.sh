#!/bin/bash
# The bash completion, share/bash-completion/scepctl, against the real CLI:
#  1. its command table agrees with `scepctl [CMD...] --help`: the same
#     subcommands, every option offered (and no other, bar the top-level
#     --store and --json that CLI11 lets through), options that take a value
#     known as such, {a,b,c} choices and the CRL reasons offered as values, a
#     positional argument exactly where the CLI has one;
#  2. the completion function, called as bash calls it (COMP_WORDS, ...),
#     offers the right words: subcommands, the CA and policy names of the
#     store (--store, --store=, $SCEP_STORE), serials and pending requests,
#     files for file options, comma-separated lists.
# Each call runs in a fresh non-interactive bash, with the bash-completion
# package's library when installed and without it (the script's fallback).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

COMPLETION="$SCEP_SOURCE/share/bash-completion/scepctl"
BASH_COMPLETION_LIB=/usr/share/bash-completion/bash_completion
[[ -f $COMPLETION ]] || fail "missing $COMPLETION"
MODES=(plain)
if [[ -r $BASH_COMPLETION_LIB ]]; then
  MODES+=(bash-completion)
else
  note "$BASH_COMPLETION_LIB not found (Debian package bash-completion): only the fallback is tested"
fi

if command -v shellcheck >/dev/null 2>&1; then
  shellcheck -S warning "$COMPLETION" >"$WORK/shellcheck.out" 2>&1 ||
    fail "shellcheck $COMPLETION: $(cat "$WORK/shellcheck.out")"
fi

# The driver: MODE WORD... — completes the last WORD (the cursor is at its
# end) and prints COMPREPLY, one a line. Words are as bash splits them: a
# "=" after an option is a word of its own (COMP_WORDBREAKS).
cat >"$WORK/driver.sh" <<'EOF'
mode=$1 completion=$2
shift 2
if [[ $mode == bash-completion ]]; then
  . /usr/share/bash-completion/bash_completion || exit 2
fi
. "$completion" || exit 2
complete -p scepctl >/dev/null || { echo "no complete -F for scepctl" >&2; exit 2; }
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
COMP_LINE=""
for ((i = 0; i < $#; i++)); do
  w=${COMP_WORDS[i]}
  if ((i > 0)) && [[ $w != = && ${COMP_WORDS[i - 1]} != = ]]; then COMP_LINE+=" "; fi
  COMP_LINE+=$w
done
COMP_POINT=${#COMP_LINE}
COMPREPLY=()
_scepctl scepctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}"
EOF

# comp MODE WORD... — the offers for the words, sorted, one a line.
comp() {
  local mode=$1 out
  shift
  out=$(env -u SCEP_STORE ${COMP_ENV:+"$COMP_ENV"} bash --norc --noprofile "$WORK/driver.sh" "$mode" "$COMPLETION" "$@" 2>"$WORK/driver.err") ||
    fail "[$mode] completing \"$*\" failed: $(cat "$WORK/driver.err")"
  [[ ! -s $WORK/driver.err ]] || fail "[$mode] completing \"$*\" wrote to stderr: $(cat "$WORK/driver.err")"
  printf '%s\n' "$out" | sed '/^$/d' | LC_ALL=C sort -u
}

# table FUNCTION ARG... — a function of the completion script, its output
# one word a line.
table() {
  bash --norc --noprofile -c '. "$1" && shift && "$@"' table "$COMPLETION" "$@" | tr ' ' '\n' | sed '/^$/d' |
    LC_ALL=C sort -u
}

# words WORD... — the words (each split at blanks), sorted, one a line.
words() { printf '%s\n' "$@" | tr ' ' '\n' | sed '/^$/d' | LC_ALL=C sort -u; }

# expect_same WHAT WANT GOT — two sorted lists are equal.
expect_same() {
  [[ $2 == "$3" ]] || fail "$1: want [$(tr '\n' ' ' <<<"$2")], got [$(tr '\n' ' ' <<<"$3")]"
}

# ---------------------------------------------------------------- 1. the table

# parse_help — reads a CLI11 help text and prints
#   sub NAME
#   pos NAME
#   opt NAME ARITY CHOICES      (ARITY 0: a flag, 1: takes a value;
#                                CHOICES comma-separated, or -)
parse_help() {
  awk '
    /^Subcommands:/ { sec = "sub"; next }
    /^Positionals:/ { sec = "pos"; next }
    /^Options:/ { sec = "opt"; next }
    /^[^ ]/ { sec = ""; next }
    sec == "sub" && /^  [^ ]/ { print "sub", $1 }
    sec == "pos" && /^  [^ ]/ { print "pos", $1 }
    sec == "opt" && /^  -/ {
      line = substr($0, 3)
      # The name column ends at the first run of two blanks.
      col = line; desc = ""
      if (match(line, /  +/)) { col = substr(line, 1, RSTART - 1); desc = substr(line, RSTART + RLENGTH) }
      n = index(col, " ")
      names = n ? substr(col, 1, n - 1) : col
      type = n ? substr(col, n + 1) : ""
      # CLI11 appends option relations to the type: "Excludes: --x", "Needs: --y".
      sub(/ *(Excludes|Needs):.*$/, "", type)
      choices = "-"
      if (match(type, /\{[^}]*\}/)) choices = substr(type, RSTART + 1, RLENGTH - 2)
      if (match(desc, /CRL reason: .*/)) { choices = substr(desc, RSTART + 12); gsub(/, /, ",", choices) }
      k = split(names, list, ",")
      for (i = 1; i <= k; i++) print "opt", list[i], (type == "" ? 0 : 1), choices
    }'
}

# check_command WORD... — checks the command path WORD... (none: the top
# level) and, recursively, its subcommands.
CHECKED=0
check_command() {
  local -a cmd=("$@")
  local path="$*" help
  help=$("$SCEPCTL" "${cmd[@]}" --help) || fail "scepctl $path --help failed"
  parse_help <<<"$help" >"$WORK/help.parsed"
  local label="scepctl${path:+ $path}"
  CHECKED=$((CHECKED + 1))

  # Subcommands: the table's, and what is offered after the path.
  local real_subs
  real_subs=$(awk '$1 == "sub" { print $2 }' "$WORK/help.parsed" | LC_ALL=C sort -u)
  expect_same "$label: subcommands in the table (_scepctl_children)" "$real_subs" "$(table _scepctl_children "$path")"
  local mode real_pos
  real_pos=$(awk '$1 == "pos" { print $2 }' "$WORK/help.parsed")
  # (A positional argument is checked below and in part 2.)
  if [[ -n $real_subs || -z $real_pos ]]; then
    for mode in "${MODES[@]}"; do
      expect_same "[$mode] $label <TAB>" "$real_subs" "$(comp "$mode" scepctl "${cmd[@]}" "")"
    done
  fi

  # Options: each one --help lists is offered after "-", and nothing else
  # but --store and --json below the top level (CLI11 lets them through).
  local real_opts extra=""
  real_opts=$(awk '$1 == "opt" { print $2 }' "$WORK/help.parsed" | LC_ALL=C sort -u)
  [[ -n $path ]] && extra=$(words --store --json)
  for mode in "${MODES[@]}"; do
    expect_same "[$mode] $label -<TAB>" "$(words "$real_opts" "$extra")" "$(comp "$mode" scepctl "${cmd[@]}" -)"
  done

  # Which options take a value: the table marks them with "=".
  local real_marked
  real_marked=$(awk '$1 == "opt" && $2 != "-h" && $2 != "--help" { print $2 ($3 ? "=" : "") }' "$WORK/help.parsed" |
    LC_ALL=C sort -u)
  expect_same "$label: options in the table (_scepctl_options; \"=\": takes a value)" "$real_marked" \
    "$(table _scepctl_options "$path")"

  # Values with a fixed set of choices are offered, all and only those.
  local kind name choices
  while read -r kind name _ choices; do
    [[ $kind == opt && $choices != - ]] || continue
    for mode in "${MODES[@]}"; do
      expect_same "[$mode] $label $name <TAB>" "$(words "${choices//,/ }")" "$(comp "$mode" scepctl "${cmd[@]}" "$name" "")"
    done
  done <"$WORK/help.parsed"

  # A positional argument: the table says what it is exactly when there is one.
  local table_pos
  table_pos=$(table _scepctl_positional "$path")
  if [[ -n $real_pos && -z $table_pos ]]; then
    fail "$label takes a positional argument ($real_pos) that _scepctl_positional does not know"
  elif [[ -z $real_pos && -n $table_pos ]]; then
    fail "_scepctl_positional gives \"$table_pos\" for $label, which takes no positional argument"
  fi

  local sub
  for sub in $real_subs; do check_command "${cmd[@]}" "$sub"; done
}
check_command
log "the table agrees with --help for $CHECKED commands"
# --store and --json are offered after a subcommand: they do work there.
STORE="$WORK/store"
"$SCEPCTL" init --store "$STORE" >/dev/null || fail "scepctl init --store DIR (after the subcommand)"
"$SCEPCTL" ca list --store "$STORE" --json >"$WORK/list.json" || fail "scepctl ca list --store DIR --json"
[[ $(tr -d ' \n' <"$WORK/list.json") == '[]' ]] || fail "scepctl ca list --json after the subcommand: $(cat "$WORK/list.json")"

# ---------------------------------------------------------------- 2. the function

"$SCEPCTL" --store "$STORE" ca create alpha --key-bits 2048 >/dev/null || fail "ca create alpha"
"$SCEPCTL" --store "$STORE" ca create beta --key-bits 2048 >/dev/null || fail "ca create beta"
"$SCEPCTL" --store "$STORE" policy create device >/dev/null || fail "policy create device"
"$SCEPCTL" --store "$STORE" policy create server --eku serverAuth >/dev/null || fail "policy create server"
mkdir -p "$WORK/files/sub"
touch "$WORK/files/csr.pem" "$WORK/files/key.der" "$WORK/other"
FAKE="$WORK/fake"
PENDING_A=$(printf 'a%.0s' {1..64})
PENDING_B=$(printf 'b%.0s' {1..64})
mkdir -p "$FAKE/ca/alpha/certs" "$FAKE/ca/alpha/pending" "$FAKE/ca/beta/certs" "$FAKE/ca/beta/pending"
touch "$FAKE/ca/alpha/certs/0A1B.pem" "$FAKE/ca/alpha/certs/0C2D.pem" "$FAKE/ca/beta/certs/FF01.pem" \
  "$FAKE/ca/alpha/pending/$PENDING_A.json" "$FAKE/ca/beta/pending/$PENDING_B.json" \
  "$FAKE/ca/beta/pending/$(printf 'c%.0s' {1..64}).claimed" "$FAKE/ca/beta/certs/.tmp.pem"
CAS=$(words alpha beta)
POLICIES=$(words device server)

for mode in "${MODES[@]}"; do
  expect_same "[$mode] scepctl c<TAB>" "$(words ca cert certs check crl)" "$(comp "$mode" scepctl c)"
  expect_same "[$mode] scepctl --store S --json ca sh<TAB>" "show" "$(comp "$mode" scepctl --store "$STORE" --json ca sh)"
  expect_same "[$mode] scepctl -<TAB>" "$(words --store --json --version -h --help)" "$(comp "$mode" scepctl -)"

  # CA names from the store given by --store, --store=, $SCEP_STORE.
  expect_same "[$mode] scepctl --store S ca show <TAB>" "$CAS" "$(comp "$mode" scepctl --store "$STORE" ca show "")"
  expect_same "[$mode] scepctl --store=S ca show <TAB>" "$CAS" "$(comp "$mode" scepctl --store = "$STORE" ca show "")"
  expect_same "[$mode] scepctl ca set --store S a<TAB>" "alpha" "$(comp "$mode" scepctl ca set --store "$STORE" a)"
  expect_same "[$mode] SCEP_STORE=S scepctl secret create --ca <TAB>" "$CAS" \
    "$(COMP_ENV="SCEP_STORE=$STORE" comp "$mode" scepctl secret create --ca "")"
  expect_same "[$mode] SCEP_STORE=S scepctl secret create --ca=<TAB>" "$CAS" \
    "$(COMP_ENV="SCEP_STORE=$STORE" comp "$mode" scepctl secret create --ca = "")"
  expect_same "[$mode] scepctl --store S export <TAB>" "$CAS" "$(comp "$mode" scepctl --store "$STORE" export "")"
  # --store wins over $SCEP_STORE; without either, /var/lib/scep.
  expect_same "[$mode] SCEP_STORE=nowhere scepctl --store S ra create <TAB>" "$CAS" \
    "$(COMP_ENV="SCEP_STORE=$WORK/nowhere" comp "$mode" scepctl --store "$STORE" ra create "")"
  expect_same "[$mode] scepctl --store S ca show alpha <TAB> (one name only)" "" \
    "$(comp "$mode" scepctl --store "$STORE" ca show alpha "")"
  # A new CA's name is not completed.
  expect_same "[$mode] scepctl --store S ca create <TAB>" "" "$(comp "$mode" scepctl --store "$STORE" ca create "")"

  # Policy names.
  expect_same "[$mode] scepctl --store S secret create --ca alpha --policy <TAB>" "$POLICIES" \
    "$(comp "$mode" scepctl --store "$STORE" secret create --ca alpha --policy "")"
  expect_same "[$mode] scepctl --store S policy show <TAB>" "$POLICIES" \
    "$(comp "$mode" scepctl --store "$STORE" policy show "")"

  # Files.
  expect_same "[$mode] scepctl ca import x --cert DIR/<TAB>" "$(words "$WORK/files/csr.pem" "$WORK/files/key.der" "$WORK/files/sub")" \
    "$(comp "$mode" scepctl ca import x --cert "$WORK/files/")"
  expect_same "[$mode] scepctl ca import x --cert c --key DIR/k<TAB>" "$WORK/files/key.der" \
    "$(comp "$mode" scepctl ca import x --cert c --key "$WORK/files/k")"
  expect_same "[$mode] scepctl export alpha --out=DIR/c<TAB>" "$WORK/files/csr.pem" \
    "$(comp "$mode" scepctl export alpha --out = "$WORK/files/c")"
  expect_same "[$mode] scepctl fingerprint DIR/<TAB>" "$(words "$WORK/files/csr.pem" "$WORK/files/key.der" "$WORK/files/sub")" \
    "$(comp "$mode" scepctl fingerprint "$WORK/files/")"
  expect_same "[$mode] scepctl --store DIR/<TAB> (directories)" "$(words "$WORK/files/sub")" \
    "$(comp "$mode" scepctl --store "$WORK/files/")"
  # --chain is a file for ca import, a flag for export.
  expect_same "[$mode] scepctl ca import x --chain DIR/c<TAB>" "$WORK/files/csr.pem" \
    "$(comp "$mode" scepctl ca import x --chain "$WORK/files/c")"
  expect_same "[$mode] scepctl --store S export --chain <TAB>" "$CAS" \
    "$(comp "$mode" scepctl --store "$STORE" export --chain "")"

  # Serials and pending requests: file names under ca/CA/certs and
  # ca/CA/pending (made up here, in a store of their own).
  expect_same "[$mode] scepctl --store F revoke <TAB>" "$(words 0A1B 0C2D FF01)" \
    "$(comp "$mode" scepctl --store "$FAKE" revoke "")"
  expect_same "[$mode] scepctl --store F revoke --ca beta <TAB>" "FF01" \
    "$(comp "$mode" scepctl --store "$FAKE" revoke --ca beta "")"
  expect_same "[$mode] scepctl --store F approve <TAB>" "$(words "$PENDING_A" "$PENDING_B")" \
    "$(comp "$mode" scepctl --store "$FAKE" approve "")"
  expect_same "[$mode] scepctl --store F reject --ca=alpha <TAB>" "$PENDING_A" \
    "$(comp "$mode" scepctl --store "$FAKE" reject --ca = alpha "")"

  # Comma-separated lists.
  expect_same "[$mode] scepctl policy create p --eku serverAuth,c<TAB>" "$(words serverAuth,clientAuth serverAuth,codeSigning)" \
    "$(comp "$mode" scepctl policy create p --eku serverAuth,c)"
done
log "completion cases pass (${MODES[*]})"
