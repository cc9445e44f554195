#!/usr/bin/env bash
# The casework dev stack on one machine: the Temporal dev server, the embedded PostgreSQL
# (unless DATABASE_URL is set), migrations, the dev key, the worker and the gateway.
# Run `./temporal-dev.sh --help` for the commands. Every step says what it is doing.
set -euo pipefail

readonly TEMPORAL_CLI_MODULE="github.com/temporalio/cli/cmd/temporal"
# CLI 1.6+ cannot be built with `go install`; 1.5.1 bundles Temporal Server 1.29.
readonly TEMPORAL_CLI_VERSION="v1.5.1"
readonly SEARCH_ATTRIBUTES=(CaseId ThreadId UserId CorrelationId AgentType)
# Stop order is the reverse of this.
readonly COMPONENTS=(temporal embedded-db worker api)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly ROOT
cd "$ROOT"

readonly STATE_DIR="$ROOT/.casework"
readonly LOG_DIR="$STATE_DIR/logs"
readonly RUN_DIR="$STATE_DIR/run"
readonly PG_DATA_DIR="$STATE_DIR/pgdata"
readonly TEMPORAL_DB_FILE="$ROOT/.temporal/casework-dev.db"
readonly SUPERVISOR_PID_FILE="$RUN_DIR/temporal-dev.pid"

export PORT="${PORT:-3000}"
export TEMPORAL_PORT="${TEMPORAL_PORT:-7233}"
export TEMPORAL_UI_PORT="${TEMPORAL_UI_PORT:-8233}"
export CASEWORK_EMBEDDED_PG_PORT="${CASEWORK_EMBEDDED_PG_PORT:-5488}"
readonly LOCAL_TEMPORAL_ADDRESS="127.0.0.1:$TEMPORAL_PORT"
readonly NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
export TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-$LOCAL_TEMPORAL_ADDRESS}"

TEMPORAL_CLI=""
WORKER_STARTED_AT=""
# Components this invocation started, in start order: the ones it stops on Ctrl-C or failure.
STARTED=()

say() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
fail() {
  printf 'temporal-dev: %s\n' "$*" >&2
  exit 1
}

usage() {
  cat <<EOF
Usage: ./temporal-dev.sh [COMMAND] [--detach]

Commands:
  (none)      start the whole stack in the foreground; Ctrl-C stops what it started
  --detach    start it in the background and return once the gateway is ready
  down        stop what a detached (or another foreground) run started
  status      show what runs
  install     only install: npm dependencies and the Temporal CLI (CI calls this)
  --help      this text

Started in order: Temporal dev server (.temporal/), embedded PostgreSQL (unless
DATABASE_URL is set; data in .casework/pgdata), migrations, the dev user and key,
the Temporal schedules (unless CASEWORK_SCHEDULES=off), the worker, the gateway.
Logs: .casework/logs/<name>.log. Pid files: .casework/run/.

Environment (defaults): PORT (3000), TEMPORAL_PORT (7233), TEMPORAL_UI_PORT (8233),
CASEWORK_EMBEDDED_PG_PORT (5488), DATABASE_URL (unset: embedded PostgreSQL),
TEMPORAL_ADDRESS (127.0.0.1:\$TEMPORAL_PORT; another address: no local dev server),
TEMPORAL_CLI_PATH (a temporal binary to use).
EOF
}

# ---------------------------------------------------------------- installing

require_node() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    fail "Node.js 20.3+ and npm are needed and were not found: install Node.js 20 or newer, then rerun."
  fi
}

npm_dependencies_stale() {
  # npm writes node_modules/.package-lock.json at every install: a lockfile newer than it
  # means dependencies changed since.
  [[ ! -d node_modules || ! -f node_modules/.package-lock.json ]] ||
    [[ package-lock.json -nt node_modules/.package-lock.json ]]
}

install_npm_dependencies() {
  require_node
  if npm_dependencies_stale; then
    say "installing npm dependencies (npm ci)"
    npm ci --no-audit --no-fund
  else
    say "npm dependencies are up to date"
  fi
}

go_bin_dir() {
  local gobin
  gobin="$(go env GOBIN)"
  if [[ -n "$gobin" ]]; then printf '%s\n' "$gobin"; else printf '%s/bin\n' "$(go env GOPATH)"; fi
}

find_temporal_cli() {
  if [[ -n "${TEMPORAL_CLI_PATH:-}" ]]; then
    [[ -x "$TEMPORAL_CLI_PATH" ]] || fail "TEMPORAL_CLI_PATH=$TEMPORAL_CLI_PATH is not an executable file."
    TEMPORAL_CLI="$TEMPORAL_CLI_PATH"
  elif command -v temporal >/dev/null 2>&1; then
    TEMPORAL_CLI="$(command -v temporal)"
  elif command -v go >/dev/null 2>&1 && [[ -x "$(go_bin_dir)/temporal" ]]; then
    TEMPORAL_CLI="$(go_bin_dir)/temporal"
  else
    return 1
  fi
}

build_temporal_cli() {
  command -v go >/dev/null 2>&1 ||
    fail "No Temporal CLI found and Go is not installed: install Go 1.25 or newer and rerun (it builds the CLI), or set TEMPORAL_CLI_PATH to a temporal binary."
  say "building the Temporal CLI, about 6 minutes the first time (go install $TEMPORAL_CLI_MODULE@$TEMPORAL_CLI_VERSION)"
  note "each line below is a Go package being downloaded or compiled"
  local started=$SECONDS
  go install -v "$TEMPORAL_CLI_MODULE@$TEMPORAL_CLI_VERSION"
  TEMPORAL_CLI="$(go_bin_dir)/temporal"
  [[ -x "$TEMPORAL_CLI" ]] || fail "go install finished but $TEMPORAL_CLI is missing."
  say "built the Temporal CLI in $((SECONDS - started)) s: $TEMPORAL_CLI"
}

ensure_temporal_cli() {
  if find_temporal_cli; then
    say "Temporal CLI: $TEMPORAL_CLI"
  else
    build_temporal_cli
  fi
}

# ---------------------------------------------------------------- processes

pid_file() { printf '%s/%s.pid\n' "$RUN_DIR" "$1"; }

recorded_pid() {
  local file
  file="$(pid_file "$1")"
  [[ -f "$file" ]] && cat "$file"
}

# Each component runs in its own session (setsid), so its pid is also its process group:
# npm, tsx and node under it are signalled together, and Ctrl-C reaches only this script.
group_alive() { kill -0 -- "-$1" 2>/dev/null || kill -0 "$1" 2>/dev/null; }

component_running() {
  local pid
  pid="$(recorded_pid "$1")" || return 1
  [[ -n "$pid" ]] && group_alive "$pid"
}

start_component() {
  local name=$1
  shift
  mkdir -p "$LOG_DIR" "$RUN_DIR"
  local log="$LOG_DIR/$name.log"
  printf '\n---- %s: %s\n' "$(date '+%F %T')" "$*" >>"$log"
  if command -v setsid >/dev/null 2>&1; then
    setsid "$@" >>"$log" 2>&1 </dev/null &
  else
    "$@" >>"$log" 2>&1 </dev/null &
  fi
  printf '%s\n' "$!" >"$(pid_file "$name")"
  STARTED+=("$name")
}

signal_group() {
  local signal=$1 pid=$2
  kill "-$signal" -- "-$pid" 2>/dev/null || kill "-$signal" "$pid" 2>/dev/null || true
}

# SIGTERM, wait up to $2 seconds, then SIGKILL.
stop_component() {
  local name=$1 grace=${2:-15} pid
  pid="$(recorded_pid "$name")" || return 0
  if [[ -z "$pid" ]] || ! group_alive "$pid"; then
    rm -f "$(pid_file "$name")"
    return 0
  fi
  printf '==> stopping %s (pid %s) ... ' "$name" "$pid"
  signal_group TERM "$pid"
  local waited=0
  while group_alive "$pid" && ((waited < grace * 10)); do
    sleep 0.1
    waited=$((waited + 1))
  done
  if group_alive "$pid"; then
    signal_group KILL "$pid"
    printf 'killed after %s s\n' "$grace"
  else
    printf 'stopped\n'
  fi
  rm -f "$(pid_file "$name")"
}

grace_seconds() {
  case $1 in
    worker) echo 30 ;; # the worker lets activities in flight finish (WORKER_SHUTDOWN_GRACE_MS)
    embedded-db) echo 20 ;; # it flushes its data on the way out
    *) echo 15 ;;
  esac
}

stop_started_components() {
  local i
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
    stop_component "${STARTED[i]}" "$(grace_seconds "${STARTED[i]}")"
  done
  STARTED=()
}

show_log_tail() {
  local log="$LOG_DIR/$1.log"
  [[ -f "$log" ]] || return 0
  printf -- '---- last lines of %s\n' "${log#"$ROOT"/}" >&2
  tail -n 25 "$log" >&2
}

# Waits for `$2...` to succeed, up to $1 seconds, saying every 10 s that it still waits.
# Fails early (with the log) when component $WAIT_COMPONENT has exited.
wait_until() {
  local timeout=$1 what=$2
  shift 2
  local started=$SECONDS next_note=10
  until "$@"; do
    if [[ -n "${WAIT_COMPONENT:-}" ]] && ! component_running "$WAIT_COMPONENT"; then
      show_log_tail "$WAIT_COMPONENT"
      fail "$WAIT_COMPONENT exited before $what (log: .casework/logs/$WAIT_COMPONENT.log)."
    fi
    if ((SECONDS - started >= timeout)); then
      [[ -n "${WAIT_COMPONENT:-}" ]] && show_log_tail "$WAIT_COMPONENT"
      fail "gave up after ${timeout} s waiting for $what."
    fi
    if ((SECONDS - started >= next_note)); then
      note "still waiting for $what ($((SECONDS - started)) s)"
      next_note=$((next_note + 10))
    fi
    sleep 0.3
  done
}

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# ---------------------------------------------------------------- Temporal

uses_local_temporal() {
  [[ "$TEMPORAL_ADDRESS" == "$LOCAL_TEMPORAL_ADDRESS" || "$TEMPORAL_ADDRESS" == "localhost:$TEMPORAL_PORT" ]]
}

temporal_answers() {
  timeout 5 "$TEMPORAL_CLI" operator cluster health --address "$LOCAL_TEMPORAL_ADDRESS" >/dev/null 2>&1
}

temporal_server_args() {
  # The same flags as test/helpers/temporal-server.ts devServerArgs, plus persistence and the UI.
  local args=(server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT"
    --db-filename "$TEMPORAL_DB_FILE" --log-level warn
    --sqlite-pragma journal_mode=WAL --sqlite-pragma synchronous=NORMAL --sqlite-pragma busy_timeout=5000
    --dynamic-config-value history.transferProcessorMaxPollRPS=1000
    --dynamic-config-value system.enableActivityEagerExecution=true)
  local name
  for name in "${SEARCH_ATTRIBUTES[@]}"; do args+=(--search-attribute "$name=Keyword"); done
  [[ "$NAMESPACE" == default ]] || args+=(--namespace "$NAMESPACE")
  printf '%s\n' "${args[@]}"
}

# start-dev registers --search-attribute only when it creates the database file, so an
# existing file (or a reused server) gets the missing ones here.
ensure_search_attributes() {
  local existing name
  existing="$("$TEMPORAL_CLI" operator search-attribute list --address "$LOCAL_TEMPORAL_ADDRESS" --namespace "$NAMESPACE")"
  for name in "${SEARCH_ATTRIBUTES[@]}"; do
    if ! grep -qE "^[[:space:]]*${name}[[:space:]]" <<<"$existing"; then
      note "registering search attribute $name (Keyword)"
      "$TEMPORAL_CLI" operator search-attribute create --name "$name" --type Keyword \
        --address "$LOCAL_TEMPORAL_ADDRESS" --namespace "$NAMESPACE" >/dev/null
    fi
  done
  say "search attributes ${SEARCH_ATTRIBUTES[*]} are registered"
}

start_temporal() {
  if ! uses_local_temporal; then
    say "using the Temporal service at $TEMPORAL_ADDRESS (TEMPORAL_ADDRESS): no local dev server"
    return 0
  fi
  if component_running temporal; then
    say "Temporal dev server already running (pid $(recorded_pid temporal)) on $LOCAL_TEMPORAL_ADDRESS"
  elif temporal_answers; then
    say "a Temporal server already answers on $LOCAL_TEMPORAL_ADDRESS: reusing it"
  elif port_open "$TEMPORAL_PORT"; then
    fail "port $TEMPORAL_PORT is in use by something that is not a Temporal server: stop it or set TEMPORAL_PORT."
  else
    say "starting the Temporal dev server on $LOCAL_TEMPORAL_ADDRESS (Web UI :$TEMPORAL_UI_PORT, state in .temporal/)"
    mkdir -p "$(dirname "$TEMPORAL_DB_FILE")"
    local args
    mapfile -t args < <(temporal_server_args)
    start_component temporal "$TEMPORAL_CLI" "${args[@]}"
    WAIT_COMPONENT=temporal wait_until 60 "the Temporal dev server" temporal_answers
    say "Temporal dev server ready"
  fi
  ensure_search_attributes
}

# ---------------------------------------------------------------- database

# Exit 0 when a PostgreSQL server answers `select 1` at URL $1.
postgres_answers() {
  # shellcheck disable=SC2016 # JavaScript, not shell expansions
  DB_PROBE_URL="$1" node --input-type=module -e '
import postgres from "postgres";
const sql = postgres(process.env.DB_PROBE_URL, { max: 1, connect_timeout: 3, onnotice: () => {} });
try { await sql`select 1`; process.exitCode = 0; } catch { process.exitCode = 1; }
finally { await sql.end({ timeout: 1 }).catch(() => {}); }
' >/dev/null 2>&1
}

embedded_url() { printf 'postgres://postgres@127.0.0.1:%s/postgres\n' "$CASEWORK_EMBEDDED_PG_PORT"; }

embedded_db_answers() { postgres_answers "$(embedded_url)"; }

start_embedded_db() {
  if component_running embedded-db; then
    say "embedded PostgreSQL already running (pid $(recorded_pid embedded-db)) on 127.0.0.1:$CASEWORK_EMBEDDED_PG_PORT"
  elif embedded_db_answers; then
    say "a database already answers on 127.0.0.1:$CASEWORK_EMBEDDED_PG_PORT: reusing it as the embedded database"
  elif port_open "$CASEWORK_EMBEDDED_PG_PORT"; then
    fail "port $CASEWORK_EMBEDDED_PG_PORT is in use by something that is not PostgreSQL: stop it or set CASEWORK_EMBEDDED_PG_PORT."
  else
    say "starting the embedded PostgreSQL (PGlite) on 127.0.0.1:$CASEWORK_EMBEDDED_PG_PORT (data in .casework/pgdata)"
    start_component embedded-db npm run --silent embedded-db -- --data-dir "$PG_DATA_DIR"
    WAIT_COMPONENT=embedded-db wait_until 90 "the embedded PostgreSQL" embedded_db_answers
    say "embedded PostgreSQL ready"
  fi
  say "database in use: embedded PostgreSQL at $(embedded_url) (DATABASE_URL is unset)"
}

# With DATABASE_URL: checks the server answers and creates the database if it is missing.
ensure_database_exists() {
  say "checking the PostgreSQL server in DATABASE_URL"
  # shellcheck disable=SC2016 # JavaScript, not shell expansions
  node --input-type=module -e '
import postgres from "postgres";
const url = new URL(process.env.DATABASE_URL);
const shown = new URL(url); if (shown.password) shown.password = "***";
const where = `${url.hostname}:${url.port || 5432}`;
const name = decodeURIComponent(url.pathname.replace(/^\//, "")) || decodeURIComponent(url.username);
const options = { max: 1, connect_timeout: 5, onnotice: () => {} };
async function connectError(u) {
  const sql = postgres(u, options);
  try { await sql`select 1`; return undefined; } catch (err) { return err; }
  finally { await sql.end({ timeout: 1 }).catch(() => {}); }
}
let err = await connectError(url.toString());
if (err?.code === "3D000") {
  const admin = new URL(url); admin.pathname = "/postgres";
  const sql = postgres(admin.toString(), options);
  try {
    await sql.unsafe(`create database "${name.replaceAll("\"", "\"\"")}"`);
    console.log(`    created database "${name}" on ${where}`);
  } finally { await sql.end({ timeout: 1 }).catch(() => {}); }
  err = await connectError(url.toString());
}
if (err) {
  const unreachable = ["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "CONNECT_TIMEOUT", "ETIMEDOUT"].includes(err.code);
  console.error(unreachable
    ? `temporal-dev: no PostgreSQL server answers at ${where} (DATABASE_URL=${shown}): start it, or unset DATABASE_URL to use the embedded database.`
    : `temporal-dev: cannot use DATABASE_URL=${shown}: ${err.message}`);
  process.exit(1);
}
console.log(`==> database in use: ${shown} (DATABASE_URL)`);
'
}

prepare_database() {
  if [[ -n "${DATABASE_URL:-}" ]]; then
    ensure_database_exists
  else
    start_embedded_db
  fi
}

run_logged_step() {
  local name=$1
  shift
  mkdir -p "$LOG_DIR"
  printf '\n---- %s: %s\n' "$(date '+%F %T')" "$*" >>"$LOG_DIR/$name.log"
  "$@" 2>&1 | tee -a "$LOG_DIR/$name.log" | sed 's/^/    /'
}

run_migrations() {
  say "running migrations (npm run migrate)"
  run_logged_step migrate npm run --silent migrate || fail "migrations failed (log: .casework/logs/migrate.log)."
}

ensure_schedules() {
  if [[ "${CASEWORK_SCHEDULES:-on}" == off ]]; then
    say "not creating the Temporal schedules (CASEWORK_SCHEDULES=off; npm run schedules does it by hand)"
    return 0
  fi
  say "creating or updating the Temporal schedules (npm run schedules; chat redelivery every minute)"
  run_logged_step schedules npm run --silent schedules ||
    fail "could not create or update the schedules (log: .casework/logs/schedules.log)."
}

ensure_dev_key() {
  say "ensuring the dev user and API key (npm run keys -- ensure-dev)"
  run_logged_step keys npm run --silent keys -- ensure-dev ||
    fail "could not ensure the dev user and key (log: .casework/logs/keys.log)."
}

# ---------------------------------------------------------------- worker and gateway

gateway_url() { printf 'http://127.0.0.1:%s\n' "$PORT"; }

gateway_ready() {
  local url
  url="$(gateway_url)/readyz"
  if command -v curl >/dev/null 2>&1; then
    [[ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url")" == 200 ]]
  else
    READY_URL="$url" node -e 'fetch(process.env.READY_URL, { signal: AbortSignal.timeout(2000) }).then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))'
  fi
}

start_worker() {
  if component_running worker; then
    say "worker already running (pid $(recorded_pid worker))"
    return 0
  fi
  say "starting the worker (npm run worker; log .casework/logs/worker.log)"
  WORKER_STARTED_AT="$(date +%s)"
  start_component worker npm run --silent worker
}

first_worker_queue() {
  local kinds="${WORKER_QUEUES:-chat,ingest,research,maintenance}"
  kinds="${kinds%%,*}"
  printf '%s%s\n' "${CASEWORK_QUEUE_PREFIX:-}" "${kinds//[[:space:]]/}"
}

# The server remembers pollers for minutes, so only a poll since this worker started counts.
worker_polling() {
  "$TEMPORAL_CLI" task-queue describe --task-queue "$(first_worker_queue)" --address "$LOCAL_TEMPORAL_ADDRESS" \
    --namespace "$NAMESPACE" -o json 2>/dev/null | SINCE="$WORKER_STARTED_AT" node -e '
let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
  const pollers = JSON.parse(s || "{}").pollers ?? [];
  const since = Number(process.env.SINCE) * 1000;
  process.exit(pollers.some((p) => Date.parse(p.lastAccessTime) >= since) ? 0 : 1);
});' 2>/dev/null
}

wait_for_worker() {
  [[ -n "$WORKER_STARTED_AT" ]] || return 0
  if ! uses_local_temporal; then
    note "not checking that the worker polls (Temporal is at $TEMPORAL_ADDRESS)"
    return 0
  fi
  say "waiting for the worker to poll task queue $(first_worker_queue) (it bundles the workflows first)"
  WAIT_COMPONENT=worker wait_until 120 "the worker to poll" worker_polling
}

start_gateway() {
  if component_running api; then
    say "gateway already running (pid $(recorded_pid api)) on $(gateway_url)"
  elif port_open "$PORT"; then
    fail "port $PORT is in use by a process this script did not start: stop it or set PORT."
  else
    say "starting the gateway on $(gateway_url) (npm run api; log .casework/logs/api.log)"
    start_component api npm run --silent api
  fi
  say "waiting for the gateway to answer GET /readyz"
  WAIT_COMPONENT=api wait_until 120 "the gateway's /readyz" gateway_ready
}

dev_api_key() {
  node --import tsx --input-type=module -e 'const { loadConfig } = await import("./workers/config.ts"); console.log(loadConfig().devApiKey);'
}

print_summary() {
  local key url
  key="$(dev_api_key)"
  url="$(gateway_url)"
  cat <<EOF

casework is up.
  Temporal Web UI  $(if uses_local_temporal; then echo "http://127.0.0.1:$TEMPORAL_UI_PORT"; else echo "(Temporal at $TEMPORAL_ADDRESS)"; fi)
  gateway          $url
  API docs         $url/docs
  dev API key      $key
  logs             .casework/logs/

Try it (the first answer carries the thread's id):
  curl -s -X POST $url/v1/threads -H 'Authorization: Bearer $key' -H 'Content-Type: application/json' -d '{"title":"first thread"}'
  curl -s -X POST $url/v1/threads/THREAD_ID/messages -H 'Authorization: Bearer $key' -H 'Content-Type: application/json' -d '{"content":"Hello"}'
  curl -s $url/v1/threads/THREAD_ID/messages -H 'Authorization: Bearer $key'

EOF
}

# ---------------------------------------------------------------- commands

stack_is_up() { component_running worker && component_running api && gateway_ready; }

# On a failed start, stop what this invocation started rather than leave half a stack.
stop_started_on_failure() {
  local code=$?
  if ((code != 0)) && ((${#STARTED[@]} > 0)); then
    printf 'temporal-dev: start failed; stopping what this run started\n' >&2
    stop_started_components
  fi
}

start_stack() {
  install_npm_dependencies
  ensure_temporal_cli
  trap stop_started_on_failure EXIT
  start_temporal
  prepare_database
  run_migrations
  ensure_dev_key
  ensure_schedules
  start_worker
  start_gateway
  wait_for_worker
}

command_up_detached() {
  if stack_is_up; then
    say "casework is already up (pids in .casework/run/); stop it with ./temporal-dev.sh down"
    print_summary
    return 0
  fi
  start_stack
  STARTED=()
  trap - EXIT
  print_summary
  echo "Running in the background. Stop it with: ./temporal-dev.sh down"
}

shut_down_foreground() {
  trap - INT TERM HUP EXIT
  echo
  say "stopping what this run started: ${STARTED[*]:-nothing}"
  stop_started_components
  rm -f "$SUPERVISOR_PID_FILE"
  exit "${1:-0}"
}

watch_started_components() {
  local name
  while true; do
    for name in "${STARTED[@]}"; do
      if ! component_running "$name"; then
        show_log_tail "$name"
        printf 'temporal-dev: %s exited unexpectedly (log: .casework/logs/%s.log)\n' "$name" "$name" >&2
        shut_down_foreground 1
      fi
    done
    sleep 1
  done
}

command_up_foreground() {
  if stack_is_up; then
    say "casework is already up (see ./temporal-dev.sh status); stop it with ./temporal-dev.sh down"
    print_summary
    return 0
  fi
  trap 'shut_down_foreground 130' INT
  trap 'shut_down_foreground 143' TERM HUP
  mkdir -p "$RUN_DIR"
  printf '%s\n' "$$" >"$SUPERVISOR_PID_FILE"
  start_stack
  trap - EXIT
  print_summary
  echo "Running in the foreground. Stop it with Ctrl-C (or ./temporal-dev.sh down from another terminal)."
  if ((${#STARTED[@]} == 0)); then
    rm -f "$SUPERVISOR_PID_FILE"
    return 0
  fi
  watch_started_components
}

command_down() {
  local supervisor i stopped=0
  if [[ -f "$SUPERVISOR_PID_FILE" ]]; then
    supervisor="$(cat "$SUPERVISOR_PID_FILE")"
    if [[ -n "$supervisor" ]] && kill -0 "$supervisor" 2>/dev/null; then
      say "asking the foreground ./temporal-dev.sh (pid $supervisor) to stop its stack"
      stopped=1
      kill -TERM "$supervisor"
      local waited=0
      while kill -0 "$supervisor" 2>/dev/null && ((waited < 900)); do
        sleep 0.1
        waited=$((waited + 1))
      done
    fi
    rm -f "$SUPERVISOR_PID_FILE"
  fi
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
    if [[ -f "$(pid_file "${COMPONENTS[i]}")" ]]; then
      stopped=1
      stop_component "${COMPONENTS[i]}" "$(grace_seconds "${COMPONENTS[i]}")"
    fi
  done
  ((stopped)) || say "nothing to stop (no pid files in .casework/run/)"
}

describe_component() {
  local name=$1
  if component_running "$name"; then
    printf '  %-12s running (pid %s)\n' "$name" "$(recorded_pid "$name")"
  elif [[ -f "$(pid_file "$name")" ]]; then
    printf '  %-12s not running (stale pid file)\n' "$name"
  else
    printf '  %-12s not started by this script\n' "$name"
  fi
}

command_status() {
  echo "processes started by ./temporal-dev.sh:"
  local name
  for name in "${COMPONENTS[@]}"; do describe_component "$name"; done
  echo "endpoints:"
  if find_temporal_cli && temporal_answers; then
    echo "  Temporal     answers on $LOCAL_TEMPORAL_ADDRESS (Web UI http://127.0.0.1:$TEMPORAL_UI_PORT)"
  else
    echo "  Temporal     nothing answers on $LOCAL_TEMPORAL_ADDRESS"
  fi
  if [[ -n "${DATABASE_URL:-}" ]]; then
    echo "  database     DATABASE_URL is set (no embedded database)"
  elif [[ -d node_modules ]] && embedded_db_answers; then
    echo "  database     embedded PostgreSQL answers on 127.0.0.1:$CASEWORK_EMBEDDED_PG_PORT"
  else
    echo "  database     nothing answers on 127.0.0.1:$CASEWORK_EMBEDDED_PG_PORT"
  fi
  if gateway_ready; then
    echo "  gateway      ready at $(gateway_url)"
  else
    echo "  gateway      not ready at $(gateway_url)"
  fi
}

command_install() {
  install_npm_dependencies
  ensure_temporal_cli
  say "installed: npm dependencies and the Temporal CLI ($TEMPORAL_CLI)"
}

main() {
  local command=up detach=0 arg
  for arg in "$@"; do
    case $arg in
      -h | --help | help) usage; return 0 ;;
      -d | --detach) detach=1 ;;
      up | down | status | install) command=$arg ;;
      *) usage >&2; fail "unknown argument: $arg" ;;
    esac
  done
  case $command in
    install) command_install ;;
    status) command_status ;;
    down) command_down ;;
    up) if ((detach)); then command_up_detached; else command_up_foreground; fi ;;
  esac
}

main "$@"
