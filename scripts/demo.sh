#!/usr/bin/env bash
# The main job on the bundled demo data: count -> fit -> test -> combine -> report.
# Usage: scripts/demo.sh [OUTDIR]   (run by `make demo`; expects the allelekit commands on PATH)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
data="$here/demo/data"
out=${1:-results}
mkdir -p "$out"
echo "allelekit demo: writing results to $out/" >&2
# Steps are added here as the commands land (see README: "The main job").
echo "allelekit demo: done. Results in $out/" >&2
