#!/usr/bin/env bash
# Run every Galaxy wrapper's <tests> in a real Galaxy server (26.1.2), offline.
#
#   scripts/galaxy_tests.sh [--keep-running | --reuse | --stop | --install-only] [TOOL_ID ...]
#
#   (no option)      install if needed, start a fresh server, test, stop it (what CI runs)
#   --keep-running   as above but leave the server up afterwards (for development)
#   --reuse          use the server left up by --keep-running: rewrite tool_conf.xml, reload the
#                    toolbox and the tested tools (so XML edits are picked up), test; the server stays up.
#                    Starts a new one (and keeps it) when none answers.
#   --stop           stop a server left up by --keep-running/--reuse and exit
#   --install-only   only create the Galaxy and planemo venvs
#   TOOL_ID ...      test only these tools (default: every tool in tool_xml/)
#
# 1. installs Galaxy 26.1.2 from PyPI into its own venv under $GALAXY_WORK (default .cache/galaxy):
#    plain `pip install galaxy==26.1.2` fails here on its exact certifi pin, so uv's --override relaxes it;
#    and planemo 0.75.47 into .cache/galaxy/planemo-venv (for `planemo lint`, used by tests/test_galaxy*.py);
# 2. writes galaxy.yml + a tool_conf.xml pointing at tool_xml/ and starts `galaxy-web` on 127.0.0.1
#    with a folder of links to the allelekit-* commands (from $ALLELEKIT_BIN, default .venv/bin) first on
#    PATH: conda resolution is off, so jobs find the commands on the server's PATH;
# 3. creates a user and API key with the bootstrap admin key, runs `galaxy-tool-test` for each tool, and
#    stops the server.  Exit status 1 when any tool test fails (or the server does not come up).
#
# Environment: GALAXY_WORK (.cache/galaxy), GALAXY_PORT (8089), ALLELEKIT_BIN (.venv/bin),
# GALAXY_START_TIMEOUT (seconds, 1200), GALAXY_PARALLEL_TOOLS (tools tested at once, 3),
# GALAXY_PARALLEL_TESTS (tests of one tool run at once, 2), GALAXY_TEST_RETRIES (a failed test is run
# again this many times, 1: guards against Galaxy-side flakiness such as sqlite lock timeouts on a busy
# 2-core machine; a retried pass is reported).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
W=${GALAXY_WORK:-$repo/.cache/galaxy}
PORT=${GALAXY_PORT:-8089}
BIN=${ALLELEKIT_BIN:-$repo/.venv/bin}
U=http://127.0.0.1:$PORT
KEY=bootstrapkey123456
mode=once
case "${1:-}" in
  --keep-running) mode=keep; shift ;;
  --reuse) mode=reuse; shift ;;
  --stop) mode=stop; shift ;;
  --install-only) mode=install; shift ;;
  -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
esac
mkdir -p "$W"
W=$(cd "$W" && pwd)
run="$W/run"
log() { echo "galaxy_tests: $*" >&2; }
t_start=$SECONDS

up() { curl -s -m 5 "$U/api/version" 2>/dev/null | grep -q version; }
stop_server() {
  local p
  p=$(cat "$run/galaxy-web.pid" 2>/dev/null || true)
  [ -n "$p" ] || return 0
  if kill -0 "$p" 2>/dev/null; then
    log "stopping galaxy-web (pid $p)"
    pkill -TERM -P "$p" 2>/dev/null || true
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 1; done
    kill -KILL "$p" 2>/dev/null || true
  fi
  rm -f "$run/galaxy-web.pid"
}

if [ "$mode" = stop ]; then stop_server; exit 0; fi

# --- 1. install ------------------------------------------------------------------------------------
if [ ! -x "$W/galaxy-venv/bin/galaxy-web" ] || [ ! -x "$W/galaxy-venv/bin/galaxy-tool-test" ]; then
  log "installing Galaxy 26.1.2 into $W/galaxy-venv (once; 1-3 minutes, 1.3 GB)"
  python3 -m venv "$W/tools-venv"
  "$W/tools-venv/bin/pip" install -q uv
  rm -rf "$W/galaxy-venv"
  python3 -m venv "$W/galaxy-venv"
  echo certifi > "$W/overrides.txt"
  SSL_CERT_FILE=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt} \
    "$W/tools-venv/bin/uv" pip install -q --python "$W/galaxy-venv/bin/python" 'galaxy==26.1.2' \
    --override "$W/overrides.txt"
fi
if [ ! -x "$W/planemo-venv/bin/planemo" ]; then
  log "installing planemo 0.75.47 into $W/planemo-venv (once)"
  rm -rf "$W/planemo-venv"
  python3 -m venv "$W/planemo-venv"
  "$W/planemo-venv/bin/pip" install -q 'planemo==0.75.47'
fi
[ "$mode" = install ] && { log "installed"; exit 0; }

for c in count fit test combine bslmm cnn-train cnn-attribute; do
  [ -x "$BIN/allelekit-$c" ] || { log "$BIN/allelekit-$c not found (set ALLELEKIT_BIN or run make install)"; exit 1; }
done

# --- 2. configuration -------------------------------------------------------------------------------
write_tool_conf() {
  mkdir -p "$run/config"
  {
    echo '<?xml version="1.0"?>'
    echo '<toolbox monitor="false">'
    echo '  <section id="allelekit" name="allelekit">'
    for x in "$repo"/tool_xml/*.xml; do
      [ "$(basename "$x")" = macros.xml ] && continue
      echo "    <tool file=\"$x\" />"
    done
    echo '  </section>'
    echo '</toolbox>'
  } > "$run/config/tool_conf.xml.tmp"
  mv "$run/config/tool_conf.xml.tmp" "$run/config/tool_conf.xml"
}

start_server() {
  stop_server
  rm -rf "$run"
  mkdir -p "$run/config" "$run/data" "$run/bin"
  # only the allelekit commands go first on PATH (not the allelekit venv's python, which would shadow
  # the galaxy venv's python that Galaxy's per-job metadata step needs)
  for c in "$BIN"/allelekit-*; do ln -s "$c" "$run/bin/"; done
  write_tool_conf
  cat > "$run/config/galaxy.yml" <<EOF
galaxy:
  data_dir: $run/data
  database_connection: sqlite:///$run/data/universe.sqlite?isolation_level=IMMEDIATE&timeout=120
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
  allow_local_account_creation: true
  enable_celery_tasks: false
  watch_tools: false
  check_job_script_integrity: false
  cleanup_job: onsuccess
EOF
  if up; then log "something already answers on $U: set GALAXY_PORT"; exit 1; fi
  log "starting galaxy-web on $U (log: $run/galaxy-web.log); the first start takes 2-8 minutes"
  (cd "$run" && PATH="$run/bin:$W/galaxy-venv/bin:$PATH" GALAXY_VIRTUAL_ENV="$W/galaxy-venv" \
     exec "$W/galaxy-venv/bin/galaxy-web" -c config/galaxy.yml --bind "127.0.0.1:$PORT" \
     > "$run/galaxy-web.log" 2>&1) &
  echo $! > "$run/galaxy-web.pid"
  local pid t0=$SECONDS deadline=$((SECONDS + ${GALAXY_START_TIMEOUT:-1200}))
  pid=$(cat "$run/galaxy-web.pid")
  until up; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "galaxy-web exited; tail of its log:"; tail -30 "$run/galaxy-web.log" >&2; exit 1
    fi
    if [ $SECONDS -gt $deadline ]; then
      log "galaxy did not answer in time"; tail -30 "$run/galaxy-web.log" >&2; stop_server; exit 1
    fi
    sleep 5
  done
  log "server up after $((SECONDS - t0)) s"
  local uid
  uid=$(curl -s -X POST -H "x-api-key: $KEY" -H "Content-Type: application/json" \
    -d '{"username":"tester","email":"tester@example.org","password":"testpass123"}' "$U/api/users" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  curl -s -X POST -H "x-api-key: $KEY" "$U/api/users/$uid/api_key" | tr -d '"' > "$run/user.key"
}

reload_tools() {
  # new or removed wrappers: rewrite tool_conf.xml and reload the toolbox; edited wrappers: reload each
  write_tool_conf
  curl -s -X PUT -H "x-api-key: $KEY" "$U/api/configuration/toolbox" > /dev/null
  sleep 5
  local t
  for t in "$@"; do
    # a tool that is new to the server was loaded by the toolbox reload; others are re-read from disk
    if ! curl -sf -H "x-api-key: $KEY" "$U/api/tools/$t/reload" > "$run/reload.$t.json" \
       || grep -q '"status": *"error"' "$run/reload.$t.json"; then
      log "reload of $t failed: $(cat "$run/reload.$t.json")"
    fi
  done
}

if [ $# -gt 0 ]; then tools=("$@"); else
  mapfile -t tools < <(grep -ho '<tool id="[^"]*"' "$repo"/tool_xml/*.xml | sed 's/<tool id="//; s/"//' | sort)
fi
[ ${#tools[@]} -gt 0 ] || { log "no tools found in $repo/tool_xml"; exit 1; }

if [ "$mode" = reuse ] && [ -s "$run/user.key" ] && [ -s "$run/galaxy-web.pid" ] && up; then
  log "reusing the server on $U"
  reload_tools "${tools[@]}"
else
  start_server
fi
[ "$mode" = once ] && trap stop_server EXIT
ukey=$(cat "$run/user.key")

# --- 3. tests ---------------------------------------------------------------------------------------
# GALAXY_PARALLEL_TOOLS tools are tested at once (each by its own galaxy-tool-test, logging to
# results/<tool>.log), each running GALAXY_PARALLEL_TESTS of its tests at once.
mkdir -p "$run/results"
test_one() {
  local t=$1 t0=$SECONDS rc=0 n
  rm -rf "${run:?}/results/$t" "$run/results/$t.json" "$run/results/$t.status"
  "$W/galaxy-venv/bin/galaxy-tool-test" -u "$U" -k "$ukey" -t "$t" --test-data "$repo/tool_xml/test-data" \
    -o "$run/results/$t" -j "$run/results/$t.json" --parallel-tests "${GALAXY_PARALLEL_TESTS:-2}" \
    --retries "${GALAXY_TEST_RETRIES:-1}" \
    > "$run/results/$t.log" 2>&1 || rc=1
  # galaxy-tool-test exits 0 when a tool has no tests at all (e.g. it failed to load): a failure too
  n=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d.get("tests", [])))' \
      "$run/results/$t.json" 2>/dev/null || echo 0)
  [ "$n" = 0 ] && rc=1
  echo "$rc $n $((SECONDS - t0))" > "$run/results/$t.status"
}
pids=()
running() { local n=0 p; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && n=$((n + 1)); done; echo $n; }
for t in "${tools[@]}"; do
  # (not `wait`/`jobs`: the server started by this script is a background job too)
  while [ "$(running)" -ge "${GALAXY_PARALLEL_TOOLS:-3}" ]; do sleep 2; done
  log "testing $t"
  test_one "$t" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
status=0
failed=()
for t in "${tools[@]}"; do
  read -r rc n secs < "$run/results/$t.status" || { rc=1; n=0; secs=0; }
  if [ "$rc" = 0 ]; then log "$t: $n test(s) passed ($secs s)"
  else
    status=1; failed+=("$t")
    log "$t: FAILED ($n test(s) ran, $secs s); end of $run/results/$t.log:"
    grep -a -v '^\s*$' "$run/results/$t.log" | cut -c1-400 | tail -25 >&2
  fi
done
# a job that ends in error without an exit code failed inside Galaxy (staging, metadata, database):
# show the server's own errors from the test phase, and say when a retry was needed
for t in "${tools[@]}"; do
  if grep -q -a "WARNING - Test '.*' failed" "$run/results/$t.log" 2>/dev/null; then
    log "$t: a test failed at least once; retried up to ${GALAXY_TEST_RETRIES:-1} time(s) (see $run/results/$t.log)"
  fi
done
if [ $status -ne 0 ]; then
  log "server errors logged after start-up (tail of $run/galaxy-web.log):"
  awk '/server up|Serving on|Application startup complete/ {go=1} go' "$run/galaxy-web.log" \
    | grep -a -E 'ERROR|Traceback|Exception|locked' | cut -c1-400 | tail -40 >&2 || true
fi
if [ $status -eq 0 ]; then log "all tool tests passed (${tools[*]}) in $((SECONDS - t_start)) s"
else log "FAILED: ${failed[*]} (results: $run/results/)"; fi
exit $status
