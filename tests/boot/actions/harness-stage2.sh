#!/bin/bash
# Guest action of the harness's multi-stage example (cells.sh,
# harness-multistage): reports the note the previous boot left on the disk.
echo "harness.stage2.note=$(cat /var/lib/harness/note 2>/dev/null)"
