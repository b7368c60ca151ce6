#!/bin/sh
# One step (or undo) of a test workflow: `sh step.sh DIR VERB STEP`, VERB being do or undo.
#
# Its side effect is one line "VERB:STEP" appended to DIR/effects, so a test counts how often
# each step and undo ran. The test steers it with files named VERB-STEP:
#
#   DIR/block/VERB-STEP   block while this file exists, "before" or "after" the side effect (the
#                         file's content says which); first write this shell's pid to
#                         DIR/pids/VERB-STEP and create DIR/started/VERB-STEP
#   DIR/fail/VERB-STEP    exit 1 before the side effect
#
# With REQUIRE set in the environment, the step fails unless the file $REQUIRE exists: a cause
# the test fixes later. Every line printed goes to the run's journal as a step_output event.
set -eu
dir=$1
verb=$2
step=$3
key=$verb-$step

block() {
    if [ -f "$dir/block/$key" ] && [ "$(cat "$dir/block/$key" 2>/dev/null)" = "$1" ]; then
        mkdir -p "$dir/pids" "$dir/started"
        echo "$$" > "$dir/pids/$key"
        : > "$dir/started/$key"
        echo "$key: blocked $1 its side effect"
        while [ -f "$dir/block/$key" ]; do sleep 0.05; done
    fi
}

block before
if [ -e "$dir/fail/$key" ]; then
    echo "$key: failing as the test asked"
    exit 1
fi
if [ -n "${REQUIRE:-}" ] && [ ! -e "$REQUIRE" ]; then
    echo "$key: $REQUIRE is missing"
    exit 1
fi
echo "$verb:$step" >> "$dir/effects"
block after
echo "$key: done"
