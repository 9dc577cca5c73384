#!/usr/bin/env bash
# Drive Desk in headless Chromium on the two sites of an EXISTING bench (tests/browser).
#
#   scripts/browser_tests.sh [--bench PATH] [--chromium PATH] [--screenshots DIR] [-- pytest args]
#
# Sets the two sites up as scripts/two_site_tests.sh does (same libraries: MariaDB, Redis, sites
# migrated to this checkout, a web server and a worker), installs Playwright and pytest into a
# virtualenv of its own when missing (it never downloads a browser: Chromium comes from the
# system, by default Debian's /usr/bin/chromium), runs tests/browser, stops what it started and
# ends with pytest's summary and "N passed, N failed". --screenshots docs/screenshots refreshes the
# README's screenshots; by default they go to the log folder.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench_path="${EVENT_STREAMING_BENCH:-/opt/frappe-bench}"
chromium="${EVENT_STREAMING_CHROMIUM:-/usr/bin/chromium}"
screenshots=""
extra=()
while [ $# -gt 0 ]; do
	case "$1" in
		--bench) bench_path="$2"; shift 2 ;;
		--chromium) chromium="$2"; shift 2 ;;
		--screenshots) screenshots="$2"; shift 2 ;;
		--) shift; extra=("$@"); break ;;
		*) echo "unknown option $1" >&2; exit 2 ;;
	esac
done

producer=es-producer.localhost
consumer=es-consumer.localhost
port="${EVENT_STREAMING_PORT:-8000}"
db_root_password="${EVENT_STREAMING_DB_ROOT_PASSWORD:-root}"
logs="$bench_path/logs/event_streaming_browser_tests"
venv="$bench_path/env-browser-tests"
started_pids=()

say() { printf '== %s\n' "$*"; }
fail() { printf 'browser tests: %s\n0 passed, 1 failed\n' "$*"; exit 1; }

[ -f "$bench_path/sites/apps.txt" ] || fail "no bench at $bench_path (set --bench or EVENT_STREAMING_BENCH)"
python="$bench_path/env/bin/python"
[ -x "$python" ] || fail "no Python environment in $bench_path/env"
[ -x "$chromium" ] || fail "no Chromium at $chromium (apt-get install chromium, or --chromium PATH)"
mkdir -p "$logs"
[ -n "$screenshots" ] || screenshots="$logs/screenshots"
screenshots="$(mkdir -p "$screenshots" && cd "$screenshots" && pwd)"

source "$here/scripts/lib/bench_services.sh"
source "$here/scripts/lib/two_sites.sh"

cleanup() {
	for pid in "${started_pids[@]:-}"; do
		[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
}
trap cleanup EXIT

# --- Playwright, in a virtualenv of its own (never `playwright install`: the browser is the system's)
if ! "$venv/bin/python" -c "import playwright, pytest, requests, PIL" 2>/dev/null; then
	say "installing Playwright and pytest into $venv"
	{ python3 -m venv "$venv" && "$venv/bin/python" -m pip install -q --disable-pip-version-check \
		"playwright>=1.40" "pytest>=7" requests pillow; } >"$logs/pip.log" 2>&1 \
		|| fail "could not install Playwright (see $logs/pip.log)"
fi

# Desk shows a new site's setup wizard instead of the app; the test sites are marked set up (their
# language and time zone come from new-site)
skip_setup_wizard() {
	local site
	for site in "$producer" "$consumer"; do
		frappe_cmd --site "$site" execute frappe.db.set_single_value \
			--args '["System Settings", "setup_complete", 1]' >"$logs/setup-$site.log" 2>&1 \
			|| fail "could not mark $site as set up (see $logs/setup-$site.log)"
	done
}

# Frappe's realtime server (socket.io, node), for the progress Desk shows while a job runs. The
# browser reaches it through its page's own origin: the tests forward /socket.io/ to this port, as
# nginx does on a production bench.
realtime_port="$("$python" -c "import json,sys; print(json.load(open(sys.argv[1])).get('socketio_port') or 9000)" \
	"$bench_path/sites/common_site_config.json")"
start_realtime() {
	if curl -s -o /dev/null "http://127.0.0.1:$realtime_port/socket.io/?EIO=4&transport=polling"; then
		fail "port $realtime_port is already in use; stop that realtime server"
	fi
	command -v node >/dev/null || fail "node is needed for Frappe's realtime server"
	say "starting realtime server on port $realtime_port"
	(cd "$bench_path" && exec node apps/frappe/socketio.js >"$logs/realtime.log" 2>&1) &
	started_pids+=($!)
	for _ in $(seq 20); do
		curl -s -o /dev/null "http://127.0.0.1:$realtime_port/socket.io/?EIO=4&transport=polling" && return
		sleep 0.5
	done
	fail "realtime server did not start (see $logs/realtime.log)"
}

# --- services, sites, web server and worker (as scripts/two_site_tests.sh) -----------------
ensure_database_and_redis
setup_two_sites
skip_setup_wizard
start_web_server
start_worker
start_realtime

# --- the browser tests ----------------------------------------------------------------------
say "running tests/browser in $chromium (screenshots: $screenshots)"
cd "$here" || fail "no checkout at $here"
EVENT_STREAMING_CONSUMER_URL="http://$consumer:$port" EVENT_STREAMING_PRODUCER_URL="http://$producer:$port" \
	EVENT_STREAMING_CHROMIUM="$chromium" EVENT_STREAMING_SCREENSHOTS="$screenshots" EVENT_STREAMING_BENCH="$bench_path" \
	EVENT_STREAMING_FAILURE_SCREENSHOTS="$logs/failures" EVENT_STREAMING_REALTIME_PORT="$realtime_port" \
	"$venv/bin/python" -m pytest -p no:cacheprovider -rfE --junitxml="$logs/junit.xml" tests/browser \
	"${extra[@]}" 2>&1 | tee "$logs/pytest.log"
status=${PIPESTATUS[0]}

read -r passed failed < <("$venv/bin/python" - "$logs/junit.xml" <<'PY'
import sys
import xml.etree.ElementTree as ET

try:
	root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
	print(0, 1)
	raise SystemExit
suites = [root] if root.tag == "testsuite" else list(root)
total = failed = skipped = 0
for suite in suites:
	total += int(suite.get("tests", 0))
	failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
	skipped += int(suite.get("skipped", 0))
print(total - failed - skipped, failed)
PY
)
[ "$status" != 0 ] && [ "$failed" = 0 ] && failed=1
echo "$passed passed, $failed failed"
[ "$status" = 0 ] && [ "$failed" = 0 ] && [ "$passed" -gt 0 ]
