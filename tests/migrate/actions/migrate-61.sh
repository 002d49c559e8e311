#!/bin/bash
# Guest action of the migrate cells (cells-migrate.sh), run before the report
# on Debian 12's 6.1, which has no dax_pmem_compat: `daxbus migrate` has
# nothing to do, and says so.
daxbus migrate --dry-run 2>&1 | sed 's/^/dry.out=/'
echo "dry.rc=${PIPESTATUS[0]}"
daxbus migrate 2>&1 | sed 's/^/live.out=/'
echo "live.rc=${PIPESTATUS[0]}"
