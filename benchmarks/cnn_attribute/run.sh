#!/usr/bin/env bash
# cnn-attribute benchmark: installs the peer (tangermeme, --no-deps, into benchmarks/.envs/tangermeme;
# its dependencies torch/numpy/numba are the project's), trains a small model on the synthetic F1
# data (stage 1, reused when present), then measures speed and accuracy (stage 2).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
THREADS=${THREADS:-2}
export NUMBA_CACHE_DIR=${NUMBA_CACHE_DIR:-$PWD/.cache/numba}
if [ ! -d benchmarks/.envs/tangermeme/tangermeme ]; then
    $PY -m pip install --quiet --target benchmarks/.envs/tangermeme --no-deps "tangermeme==1.6.0"
fi
$PY benchmarks/cnn_attribute/train_model.py --threads "$THREADS" "$@"
$PY benchmarks/cnn_attribute/run.py --threads "$THREADS"
