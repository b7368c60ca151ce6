#!/bin/sh
# A stand-in for the Appcircle self-hosted server's control script, shipped in the test zips of
# the vendor's server folder (tests/rig/zips.py), with the verbs the real one has:
#
#   ac-self-hosted.sh -n NAME down|export|upgrade|up|check      ac-self-hosted.sh -v
#
# It drives a Compose stack from its own folder: `export` writes projects/NAME/export/
# (docker-compose.yml, .env with the port from projects/NAME/global.yaml, www/version from
# VERSION), `upgrade` pulls its images, `up`/`down` start and stop it, `check` is one look (exit 0
# when the web answers), `-v` prints the version of this folder. Compose is $COMPOSE, else
# `docker compose`. Like the real one, `down` asks "Are you sure? [y/N]" on a terminal; AC_ASK=VERB
# makes VERB ask whatever stdin is (with stdin closed, the read fails: the verb fails, never hangs).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = "-v" ]; then
  echo "Appcircle server version: $(cat "$here/VERSION")"
  exit 0
fi
[ "${1:-}" = "-n" ] && [ $# -eq 3 ] || { echo "usage: $0 -n NAME down|export|upgrade|up|check | -v" >&2; exit 2; }
name=$2 verb=$3
project="$here/projects/$name"
export_dir="$project/export"
[ -f "$project/global.yaml" ] || { echo "no project $name (missing $project/global.yaml)" >&2; exit 2; }
port=$(sed -n 's/^port: *//p' "$project/global.yaml")
compose() { ${COMPOSE:-docker compose} -p "$name" --project-directory "$export_dir" -f "$export_dir/docker-compose.yml" "$@"; }
ask() {
  printf 'Are you sure you want to %s %s? [y/N] ' "$1" "$name"
  if ! read -r answer; then echo; echo "no answer: stdin is closed" >&2; exit 1; fi
  case "$answer" in y|Y|yes) ;; *) echo "cancelled" >&2; exit 1 ;; esac
}
if [ "${AC_ASK:-}" = "$verb" ] || { [ "$verb" = down ] && [ -t 0 ]; }; then ask "$verb"; fi
case "$verb" in
  down)
    if [ -f "$export_dir/docker-compose.yml" ]; then compose down; fi
    echo "stopped $name" ;;
  export)
    mkdir -p "$export_dir/www"
    cp "$here/docker-compose.yml" "$export_dir/docker-compose.yml.tmp"
    mv "$export_dir/docker-compose.yml.tmp" "$export_dir/docker-compose.yml"
    printf 'HTTP_PORT=%s\n' "$port" > "$export_dir/.env"
    cp "$here/VERSION" "$export_dir/www/version"
    echo "exported $(cat "$here/VERSION")" ;;
  upgrade) compose pull --quiet; echo "pulled the images of $(cat "$export_dir/www/version")" ;;
  up) compose up -d; echo "started $name" ;;
  check)
    answer=$(curl -fsS --max-time 2 "http://127.0.0.1:$port/version") || { echo "not answering on $port" >&2; exit 1; }
    echo "answering $answer" ;;
  *) echo "unknown command $verb" >&2; exit 2 ;;
esac
