#!/usr/bin/env bash
# Run every Galaxy wrapper's <tests> in a real Galaxy server (26.1.2), offline.
#
#   scripts/galaxy_tests.sh [TOOL_ID ...]      (default: every tool in tool_xml/)
#
# 1. installs Galaxy 26.1.2 from PyPI into its own venv under $GALAXY_WORK (default .cache/galaxy):
#    plain `pip install galaxy==26.1.2` fails here on its exact certifi pin, so uv's --override relaxes it;
# 2. writes galaxy.yml + a tool_conf.xml pointing at tool_xml/ and starts `galaxy-web` on 127.0.0.1
#    with the allelekit commands (from $ALLELEKIT_BIN, default .venv/bin) first on PATH: conda resolution is
#    off, so jobs find the commands on the server's PATH;
# 3. creates a user and API key with the bootstrap admin key, runs `galaxy-tool-test` for each tool, and
#    stops the server.  Exit status 1 when any tool test fails (or the server does not come up).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
W=${GALAXY_WORK:-$repo/.cache/galaxy}
PORT=${GALAXY_PORT:-8089}
BIN=${ALLELEKIT_BIN:-$repo/.venv/bin}
U=http://127.0.0.1:$PORT
KEY=bootstrapkey123456
mkdir -p "$W"
W=$(cd "$W" && pwd)
log() { echo "galaxy_tests: $*" >&2; }

if [ ! -x "$W/galaxy-venv/bin/galaxy-web" ]; then
  log "installing Galaxy 26.1.2 into $W/galaxy-venv (once; about a minute)"
  python3 -m venv "$W/tools-venv"
  "$W/tools-venv/bin/pip" install -q uv
  python3 -m venv "$W/galaxy-venv"
  echo certifi > "$W/overrides.txt"
  SSL_CERT_FILE=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt} \
    "$W/tools-venv/bin/uv" pip install -q --python "$W/galaxy-venv/bin/python" 'galaxy==26.1.2' \
    --override "$W/overrides.txt"
fi

run="$W/run"
rm -rf "$run"
mkdir -p "$run/config" "$run/data"
cat > "$run/config/tool_conf.xml" <<EOF
<?xml version="1.0"?>
<toolbox monitor="false">
  <section id="allelekit" name="allelekit">
$(for x in "$repo"/tool_xml/*.xml; do
    [ "$(basename "$x")" = macros.xml ] && continue
    echo "    <tool file=\"$x\" />"
  done)
  </section>
</toolbox>
EOF
cat > "$run/config/galaxy.yml" <<EOF
galaxy:
  data_dir: $run/data
  database_connection: sqlite:///$run/data/universe.sqlite?isolation_level=IMMEDIATE
  database_auto_migrate: true
  tool_config_file: $run/config/tool_conf.xml
  shed_tool_config_file: $run/data/shed_tool_conf.xml
  tool_dependency_dir: $run/data/dependencies
  tool_data_path: $run/data/tool-data
  conda_auto_init: false
  conda_auto_install: false
  dependency_resolvers:
    - type: galaxy_packages
  enable_mulled_containers: false
  admin_users: admin@example.org
  bootstrap_admin_api_key: $KEY
  allow_user_creation: true
  enable_celery_tasks: false
  watch_tools: false
  check_job_script_integrity: false
  cleanup_job: never
EOF

log "starting galaxy-web on $U (logs in $run/galaxy-web.log)"
(cd "$run" && PATH="$BIN:$PATH" exec "$W/galaxy-venv/bin/galaxy-web" -c config/galaxy.yml --bind "127.0.0.1:$PORT" \
  > galaxy-web.log 2>&1) &
pid=$!
stop() { kill "$pid" 2>/dev/null || true; pkill -P "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
trap stop EXIT

deadline=$((SECONDS + ${GALAXY_START_TIMEOUT:-900}))
until curl -s -m 5 "$U/api/version" | grep -q version; do
  if ! kill -0 "$pid" 2>/dev/null; then log "galaxy-web exited; tail of its log:"; tail -30 "$run/galaxy-web.log" >&2; exit 1; fi
  if [ $SECONDS -gt $deadline ]; then log "galaxy did not answer in time"; tail -30 "$run/galaxy-web.log" >&2; exit 1; fi
  sleep 5
done
log "server up after ${SECONDS}s"

uid=$(curl -s -X POST -H "x-api-key: $KEY" -H "Content-Type: application/json" \
  -d '{"username":"tester","email":"tester@example.org","password":"testpass123"}' "$U/api/users" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
ukey=$(curl -s -X POST -H "x-api-key: $KEY" "$U/api/users/$uid/api_key" | tr -d '"')

if [ $# -gt 0 ]; then tools=("$@"); else
  mapfile -t tools < <(grep -ho '<tool id="[^"]*"' "$repo"/tool_xml/*.xml | sed 's/<tool id="//; s/"//')
fi
status=0
mkdir -p "$run/results"
for t in "${tools[@]}"; do
  log "testing $t"
  if ! "$W/galaxy-venv/bin/galaxy-tool-test" -u "$U" -k "$ukey" -t "$t" --test-data "$repo/tool_xml/test-data" \
       -o "$run/results/$t" -j "$run/results/$t.json" --parallel-tests 1 >&2; then
    log "FAILED: $t"
    status=1
  fi
done
[ $status -eq 0 ] && log "all tool tests passed: ${tools[*]}" || log "some tool tests failed"
exit $status
