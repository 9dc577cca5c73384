#!/usr/bin/env bash
# Run the event_streaming suite on two real Frappe sites of an EXISTING bench.
#
#   scripts/two_site_tests.sh [--bench PATH] [--db-type mariadb|postgres] [--keep-running] [--only MODULE]
#                             [-- extra run-tests args]
#
# Bench location: --bench, else $EVENT_STREAMING_BENCH, else /opt/frappe-bench.
# It never installs or builds Frappe: it only uses the bench it is given. It starts MariaDB and
# Redis if they are down, creates the sites es-producer.localhost and es-consumer.localhost if
# missing (host_name set, so get_url() is stable), installs this checkout on both (migrating when
# the checkout changed), starts a web server and a worker, runs
#   bench --site es-consumer.localhost run-tests --app event_streaming
# stops what it started, and ends with "N passed, N failed".
# --db-type postgres does the same on es-producer-pg.localhost and es-consumer-pg.localhost, sites on
# PostgreSQL (started if it is down, see ensure_postgres); the web server and worker serve every
# site of the bench, so a suite on either pair also replicates with the other pair's producer when
# it exists (test_mixed_databases).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench_path="${EVENT_STREAMING_BENCH:-/opt/frappe-bench}"
keep_running=0
db_type=mariadb
only_module=""
extra=()
while [ $# -gt 0 ]; do
	case "$1" in
		--bench) bench_path="$2"; shift 2 ;;
		--db-type) db_type="$2"; shift 2 ;;
		--keep-running) keep_running=1; shift ;;
		--only) only_module="$2"; shift 2 ;;
		--) shift; extra=("$@"); break ;;
		*) echo "unknown option $1" >&2; exit 2 ;;
	esac
done

# other_producer: the producer of the other database's pair, for test_mixed_databases
case "$db_type" in
	mariadb) producer=es-producer.localhost; consumer=es-consumer.localhost; other_producer=es-producer-pg.localhost ;;
	postgres) producer=es-producer-pg.localhost; consumer=es-consumer-pg.localhost; other_producer=es-producer.localhost ;;
	*) echo "unknown database type $db_type (mariadb or postgres)" >&2; exit 2 ;;
esac
port="${EVENT_STREAMING_PORT:-8000}"
db_root_password="${EVENT_STREAMING_DB_ROOT_PASSWORD:-root}"
logs="$bench_path/logs/event_streaming_tests"
started_pids=()

say() { printf '== %s\n' "$*"; }
fail() { printf 'two-site suite: %s\n0 passed, 1 failed\n' "$*"; exit 1; }

[ -f "$bench_path/sites/apps.txt" ] || fail "no bench at $bench_path (set --bench or EVENT_STREAMING_BENCH)"
python="$bench_path/env/bin/python"
[ -x "$python" ] || fail "no Python environment in $bench_path/env"
mkdir -p "$logs"

# MariaDB, Redis, the web server and the worker start one way for every script, and so are the
# two sites set up (scripts/dev_bench.sh uses the same)
source "$here/scripts/lib/bench_services.sh"
source "$here/scripts/lib/two_sites.sh"

pidfile="$logs/processes.pid"
# processes left running by an earlier --keep-running run serve old code: stop them first
if [ -f "$pidfile" ]; then
	while read -r pid; do kill "$pid" 2>/dev/null; done <"$pidfile"
	rm -f "$pidfile"
	sleep 2
fi

cleanup() {
	if [ "$keep_running" = 1 ]; then
		printf '%s\n' "${started_pids[@]:-}" >"$pidfile"
	else
		for pid in "${started_pids[@]:-}"; do
			[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
		done
	fi
}
trap cleanup EXIT

# --- services ---------------------------------------------------------------------------
# MariaDB always: the web server and worker serve every site of the bench, MariaDB's too
ensure_database_and_redis
have_other_producer=0
[ -d "$bench_path/sites/$other_producer" ] && have_other_producer=1
if [ "$db_type" = postgres ] || { [ "$have_other_producer" = 1 ] && postgres_bin_dir >/dev/null; }; then
	ensure_postgres
elif [ "$have_other_producer" = 1 ]; then
	have_other_producer=0  # a PostgreSQL site, and no PostgreSQL to serve it: test_mixed_databases skips
fi

# --- sites --------------------------------------------------------------------------------
setup_two_sites
# the other database's producer (made by a run with the other --db-type) follows this checkout too
[ "$have_other_producer" = 1 ] && setup_site "$other_producer" producer

# --- web server and worker ----------------------------------------------------------------
start_web_server
start_worker

# --- the suite ----------------------------------------------------------------------------
say "running the suite on $consumer (producer: $producer)"
args=(--site "$consumer" run-tests --app event_streaming)
# --only test_capture is short for --only event_streaming.tests.test_capture
[ -n "$only_module" ] && [[ "$only_module" != *.* ]] && only_module="event_streaming.tests.$only_module"
[ -n "$only_module" ] && args=(--site "$consumer" run-tests --module "$only_module")
frappe_cmd "${args[@]}" "${extra[@]}" 2>&1 | tee "$logs/run-tests.log"
status=${PIPESTATUS[0]}

ran=$(grep -Eo '^Ran [0-9]+ test' "$logs/run-tests.log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
failed=0
if summary=$(grep -E '^FAILED \(' "$logs/run-tests.log" | tail -1); then
	failed=$(( $(echo "$summary" | grep -Eo '(failures|errors)=[0-9]+' | grep -Eo '[0-9]+' | paste -sd+ - | bc 2>/dev/null || echo 1) ))
fi
[ "$status" != 0 ] && [ "$failed" = 0 ] && failed=1
passed=$(( ran - failed ))
[ "$passed" -lt 0 ] && passed=0
echo "$passed passed, $failed failed"
[ "$status" = 0 ] && [ "$failed" = 0 ] && [ "$ran" -gt 0 ]
