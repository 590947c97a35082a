#!/usr/bin/env bash
# A checkpoint field's on-disk name is written in the source as a string,
# never made from a C expression by the preprocessor's # (issue 11: a macro
# like `IO(io, lval) CKP_IO_NAMED(io, #lval, s->lval)` renamed the field
# whenever a struct member was renamed, and old checkpoints stopped
# restoring).  Outside libckp (which defines the calls), this fails on
#  - a macro that stringizes one of its parameters and calls CKP_IO_* or
#    ckp_io_*;
#  - a CKP_IO_* or ckp_io_* call that names a field through a stringizing
#    macro (`#define STR(x) #x` ... `ckp_io_field(io, STR(rip), ...)`);
#  - a CKP_IO_NAMED* call whose name is not a string literal.
# The checks are tried first on a file that breaks each rule, so that a
# pattern that stopped matching cannot pass quietly.
set -u
cd "$(dirname "$0")/../.."
fail() { echo "FAIL: $*"; exit 1; }
TMP=$(mktemp -d /tmp/hyve-names.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# stringizers FILE...: "file:line: NAME" for each macro that applies # to
# a parameter, "file:line: NAME io" when its body also calls libckp's
# field functions.  Continued lines are joined; strings and ## are not #.
stringizers() {
	awk '
	FNR == 1 { def = "" }
	def == "" && $0 !~ /^[ \t]*#[ \t]*define[ \t]/ { next }
	{
		if (def == "")
			start = FNR
		def = def $0
		if (def ~ /\\$/) {
			sub(/\\$/, " ", def)
			next
		}
		body = def
		def = ""
		sub(/^[ \t]*#[ \t]*define[ \t]+/, "", body)
		name = body
		sub(/[^A-Za-z0-9_].*/, "", name)
		sub(/^[A-Za-z0-9_]+(\([^)]*\))?/, "", body)
		gsub(/"([^"\\]|\\.)*"/, "\"\"", body)
		gsub(/'\''([^'\''\\]|\\.)*'\''/, "0", body)
		gsub(/##/, " ", body)
		if (body !~ /#[ \t]*[A-Za-z_]/)
			next
		io = body ~ /(CKP_IO_|ckp_io_)/ ? " io" : ""
		print FILENAME ":" start ": " name io
	}' "$@"
}

# check FILE...: every rule above; prints what breaks one.
check() {
	local s names
	s=$(stringizers "$@")
	grep ' io$' <<<"$s"
	names=$(sed -n 's/^[^ ]* \([A-Za-z0-9_]*\).*/\1/p' <<<"$s" | sort -u | paste -sd'|')
	if [ -n "$names" ]; then
		grep -nHE "(CKP_IO_|ckp_io_)[A-Za-z0-9_]*\(.*\<($names)\(" "$@"
	fi
	grep -nHE 'CKP_IO_NAMED[A-Z_]*\(' "$@" | grep -vE 'CKP_IO_NAMED[A-Z_]*\([^,]+, *"'
}

cat >"$TMP/bad.c" <<'EOF'
#define IO(io, lval)	CKP_IO_NAMED((io), #lval, s->lval)
#define FIELD(io, m) \
	ckp_io_field((io), # m, CKP_TYPE_UINT32, &s->m, 4, 0, 0)
#define STR(x) #x
#define GLUE(a, b) a ## b
#define FMT "%#x"
	ckp_io_field(io, STR(rip), CKP_TYPE_UINT64, &s->rip, 8, 0, 0);
	CKP_IO_NAMED(io, name_of_rsp, s->rsp);
	CKP_IO_NAMED(io, "rbx", s->rbx);
EOF
out=$(check "$TMP/bad.c")
want="$TMP/bad.c:1: IO io
$TMP/bad.c:2: FIELD io
$TMP/bad.c:7:	ckp_io_field(io, STR(rip), CKP_TYPE_UINT64, &s->rip, 8, 0, 0);
$TMP/bad.c:1:#define IO(io, lval)	CKP_IO_NAMED((io), #lval, s->lval)
$TMP/bad.c:8:	CKP_IO_NAMED(io, name_of_rsp, s->rsp);"
[ "$out" = "$want" ] || fail "the checks themselves: on a file breaking each rule once they said
$out
instead of
$want"

files=$(find vmm devices tools tests fuzz bench guest -name '*.[ch]' | sort)
[ -n "$files" ] || fail "no source files found"
# shellcheck disable=SC2086
out=$(check $files)
[ -z "$out" ] || fail "a checkpoint field named by the preprocessor, not by a string:
$out"
echo "$(wc -w <<<"$files") files: every checkpoint field outside libckp is named by a string"
echo PASS
