#!/bin/sh
# A vendor's control script, as many self-hosted servers ship one:
#   server.sh -n NAME down|export|upgrade|up|check
# It keeps the "server" in $ROOT/fake/NAME: `running` holds the configuration version that runs,
# `export` the exported one, `images` the pulled one. Every call is logged to calls.log.
# FAKE_FAIL=<verb> makes that verb's first call fail; FAKE_PROMPT=<verb> makes it ask a question on stdin;
# FAKE_CHECK_AFTER=N makes `check` succeed only from its Nth call on.
set -eu
[ "$1" = "-n" ] || { echo "usage: $0 -n NAME down|export|upgrade|up|check" >&2; exit 2; }
name=$2 verb=$3
root=$(cd "$(dirname "$0")" && pwd)
dir="$root/fake/$name"
mkdir -p "$dir"
echo "$verb" >> "$dir/calls.log"
if [ "${FAKE_PROMPT:-}" = "$verb" ]; then
  printf 'Really %s? [y/N] ' "$verb"
  read -r answer || { echo "no answer on stdin" >&2; exit 1; }
  [ "$answer" = y ] || exit 1
fi
if [ "${FAKE_FAIL:-}" = "$verb" ] && [ ! -e "$dir/failed-$verb" ]; then
  touch "$dir/failed-$verb"
  echo "$verb: something went wrong" >&2
  exit 1
fi
case "$verb" in
  down)    rm -f "$dir/running"; echo "stopped $name" ;;
  export)  cp "$root/release-version" "$dir/export"; echo "exported $(cat "$dir/export")" ;;
  upgrade) cp "$dir/export" "$dir/images"; echo "pulled images $(cat "$dir/images")" ;;
  up)      cp "$dir/export" "$dir/running"; echo "started $(cat "$dir/running")" ;;
  check)
    count=$(grep -c '^check$' "$dir/calls.log")
    [ -f "$dir/running" ] || { echo "not running" >&2; exit 1; }
    [ "$count" -ge "${FAKE_CHECK_AFTER:-1}" ] || { echo "not ready yet ($count)" >&2; exit 1; }
    echo "healthy: $(cat "$dir/running")" ;;
  *) echo "unknown command $verb" >&2; exit 2 ;;
esac
