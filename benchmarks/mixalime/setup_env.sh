#!/usr/bin/env bash
# Create the MixALime environment used by the benchmarks in this folder (fit/test and combine).
#   benchmarks/.envs/mixalime  (gitignored)
# MixALime 2.29.4 from PyPI imports `click` but its typer no longer pulls it in, so we add it
# (see docs: shared/specs/mixalime-model.md, "Surprises" 1).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ENV="$HERE/../.envs/mixalime"
PY="${PYTHON:-python3.11}"
if [ ! -x "$ENV/bin/mixalime" ]; then
    mkdir -p "$(dirname "$ENV")"
    "$PY" -m venv "$ENV"
    "$ENV/bin/pip" install --quiet --upgrade pip
    "$ENV/bin/pip" install --quiet "mixalime==2.29.4" click
fi
"$ENV/bin/pip" show mixalime | sed -n 's/^Version: /mixalime /p'
"$ENV/bin/mixalime" --help >/dev/null && echo "mixalime env ready: $ENV"
