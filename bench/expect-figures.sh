#!/bin/sh
# expect-figures.sh STRING... -- COMMAND [ARG...]
# Runs COMMAND; passes when it exits 0 and its standard output holds every
# STRING. For the test suite, to see that a bench case ran and printed its
# figures; it judges no figure.
set -u
n=0
for a in "$@"; do
	[ "$a" = "--" ] && break
	n=$((n + 1))
done
if [ "$n" -eq "$#" ]; then
	echo "usage: expect-figures.sh STRING... -- COMMAND [ARG...]" >&2
	exit 2
fi
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
i=0
strings=""
while [ "$i" -lt "$n" ]; do
	strings="$strings$1
"
	shift
	i=$((i + 1))
done
shift # the --
"$@" >"$out"
rc=$?
cat "$out"
if [ "$rc" -ne 0 ]; then
	echo "expect-figures: the command exited with $rc" >&2
	exit 1
fi
missing=0
while IFS= read -r s; do
	[ -z "$s" ] && continue
	if ! grep -qF -- "$s" "$out"; then
		echo "expect-figures: not in the output: $s" >&2
		missing=1
	fi
done <<END
$strings
END
exit "$missing"
