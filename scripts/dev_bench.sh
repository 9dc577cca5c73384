#!/usr/bin/env bash
# Build (or reuse) the Frappe 15 bench that the tests, the benchmark and a demo run on.
#
#   scripts/dev_bench.sh [--bench PATH] [--frappe-path DIR] [--port N] [--db-type mariadb|postgres] [--demo]
#                        [--help]
#
# From a bare Debian or Ubuntu machine it installs what a bench needs (as root, with apt), sets up
# MariaDB for Frappe, installs the bench CLI into its own virtual environment, runs bench init
# (Frappe version-15), creates es-producer.localhost and es-consumer.localhost with this checkout
# installed (as scripts/two_site_tests.sh does, with the same code) and says what it did. Run
# again, it reuses whatever exists. --demo then serves both sites, subscribed to each other's ToDo
# and Note, until Ctrl-C. --db-type postgres makes es-producer-pg.localhost and
# es-consumer-pg.localhost on PostgreSQL instead (MariaDB is still set up: Frappe's bench needs it).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench_path="${EVENT_STREAMING_BENCH:-/opt/frappe-bench}"
frappe_path="${EVENT_STREAMING_FRAPPE_PATH:-}"
port="${EVENT_STREAMING_PORT:-8000}"
demo=0
db_type=mariadb
frappe_repo=https://github.com/frappe/frappe
frappe_branch=version-15
db_root_password="${EVENT_STREAMING_DB_ROOT_PASSWORD:-root}"
# the bench CLI and this script's own logs live outside the bench: bench init wants a new directory
state_dir="${XDG_DATA_HOME:-$HOME/.local/share}/event_streaming"
cli_env="$state_dir/bench-cli"
logs="$state_dir/logs"
did=()
started_pids=()

usage() {
	cat <<EOF
Usage: scripts/dev_bench.sh [options]

Builds or reuses a Frappe 15 bench with the sites es-producer.localhost and es-consumer.localhost
(or their PostgreSQL pair), both running this checkout, as scripts/two_site_tests.sh expects it.

  --bench PATH        the bench (default /opt/frappe-bench; also EVENT_STREAMING_BENCH)
  --frappe-path DIR   a local git clone of Frappe to init from, for machines that cannot reach
                      $frappe_repo (also EVENT_STREAMING_FRAPPE_PATH);
                      its $frappe_branch branch is used
  --port N            the port the sites are served on, in their host_name (default 8000; also
                      EVENT_STREAMING_PORT, which scripts/two_site_tests.sh reads too)
  --db-type TYPE      mariadb (default: es-producer.localhost, es-consumer.localhost) or postgres
                      (es-producer-pg.localhost, es-consumer-pg.localhost, on a PostgreSQL cluster
                      of the bench's own in PATH/postgres-data, started on 127.0.0.1:5432)
  --demo              then serve both sites (web server, worker, scheduler), subscribe the consumer
                      to ToDo and Note on the producer, and run until Ctrl-C
  --help              this text

As root, missing system packages are installed with apt. The MariaDB root password is
EVENT_STREAMING_DB_ROOT_PASSWORD (default root); it is set if root has none. PostgreSQL's postgres
user gets EVENT_STREAMING_PG_ROOT_PASSWORD (default root).
EOF
}

say() { printf '== %s\n' "$*"; }
fail() { printf 'dev bench: %s\n' "$*" >&2; exit 1; }
done_step() { did+=("$*"); }

while [ $# -gt 0 ]; do
	case "$1" in
		--bench) bench_path="${2:?--bench needs a path}"; shift 2 ;;
		--frappe-path) frappe_path="${2:?--frappe-path needs a directory}"; shift 2 ;;
		--port) port="${2:?--port needs a number}"; shift 2 ;;
		--db-type) db_type="${2:?--db-type needs mariadb or postgres}"; shift 2 ;;
		--demo) demo=1; shift ;;
		-h | --help) usage; exit 0 ;;
		*) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done
[[ "$port" =~ ^[0-9]+$ ]] || fail "--port must be a number, not '$port'"
case "$db_type" in
	mariadb) producer=es-producer.localhost; consumer=es-consumer.localhost ;;
	postgres) producer=es-producer-pg.localhost; consumer=es-consumer-pg.localhost ;;
	*) fail "--db-type must be mariadb or postgres, not '$db_type'" ;;
esac
bench_path="$(realpath -m "$bench_path")"
mkdir -p "$logs" || fail "cannot create $logs"
python="$bench_path/env/bin/python"

source "$here/scripts/lib/bench_services.sh"
source "$here/scripts/lib/two_sites.sh"

# --- system packages ------------------------------------------------------------------------

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

apt_updated=0
apt_install() {
	[ "$(id -u)" = 0 ] || fail "missing packages: $*; install them as root (apt-get install $*) or run this as root"
	if [ "$apt_updated" = 0 ]; then
		say "apt-get update"
		apt-get update >"$logs/apt.log" 2>&1 || fail "apt-get update failed (see $logs/apt.log)"
		apt_updated=1
	fi
	say "installing $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >>"$logs/apt.log" 2>&1 \
		|| fail "apt-get install failed (see $logs/apt.log)"
	done_step "installed with apt: $*"
}

node_major() { node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/'; }

ensure_system_packages() {
	command -v dpkg-query >/dev/null || fail "this script installs with apt: run it on Debian or Ubuntu"
	local wanted=(mariadb-server mariadb-client redis-server python3-venv python3-dev pkg-config
		libmariadb-dev build-essential cron git curl ca-certificates) missing=() package
	[ "$db_type" = postgres ] && wanted+=(postgresql postgresql-client)
	for package in "${wanted[@]}"; do installed "$package" || missing+=("$package"); done
	# Node may come from elsewhere (NodeSource, nvm): only its version matters
	[ "$(node_major || echo 0)" -ge 18 ] 2>/dev/null || missing+=(nodejs npm)
	[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
	[ "$(node_major || echo 0)" -ge 18 ] 2>/dev/null \
		|| fail "Frappe 15 needs Node 18 or later, this machine has $(node --version 2>/dev/null || echo none); install a newer Node (e.g. from NodeSource) and run again"
	if ! command -v yarn >/dev/null; then
		command -v npm >/dev/null || apt_install npm
		say "installing yarn"
		npm install -g yarn >>"$logs/npm.log" 2>&1 || fail "npm install -g yarn failed (see $logs/npm.log)"
		done_step "installed yarn with npm"
	fi
}

# The Python the bench's environment is made from: Frappe 15 needs 3.10 or later, venv and headers
# (mysqlclient and others compile against them).
check_python() {
	python3 - <<'EOF' || fail "python3 ($(command -v python3)) must be 3.10 or later with venv, ensurepip and its headers (python3-venv, python3-dev)"
import os, sys, sysconfig, venv, ensurepip
assert sys.version_info >= (3, 10)
assert os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h"))
EOF
}

# --- MariaDB --------------------------------------------------------------------------------

# Frappe refuses a server whose default character set is not utf8mb4. Debian's own
# mariadb.conf.d/50-server.cnf sets a different collation and is read after conf.d, so the file goes
# last in mariadb.conf.d where that exists.
configure_mariadb() {
	local dir=/etc/mysql/conf.d
	[ -d /etc/mysql/mariadb.conf.d ] && dir=/etc/mysql/mariadb.conf.d
	local file="$dir/99-frappe.cnf" wanted
	wanted="$(cat <<'EOF'
# written by event_streaming's scripts/dev_bench.sh: the settings Frappe requires
[mysqld]
character-set-client-handshake = FALSE
character-set-server = utf8mb4
collation-server = utf8mb4_unicode_ci

[mysql]
default-character-set = utf8mb4
EOF
)"
	[ "$(cat "$file" 2>/dev/null)" = "$wanted" ] && return
	[ -w "$dir" ] || fail "$file must hold Frappe's utf8mb4 settings; run this as root"
	say "writing $file"
	printf '%s\n' "$wanted" >"$file"
	done_step "MariaDB configured for Frappe in $file"
	# a running server only reads it when it starts
	if mysqladmin ping >/dev/null 2>&1; then
		say "restarting MariaDB to apply it"
		mysqladmin -uroot -p"$db_root_password" shutdown 2>/dev/null || mysqladmin shutdown 2>/dev/null \
			|| fail "could not stop MariaDB to apply $file; restart it by hand"
		for _ in $(seq 30); do mysqladmin ping >/dev/null 2>&1 || break; sleep 1; done
	fi
}

# The other scripts and Frappe log in as root with the password over TCP; a fresh Debian MariaDB
# lets the system root in through the socket only (where any password is accepted, hence the check
# over TCP). Socket login is kept alongside the password.
ensure_db_root_password() {
	mysql --protocol=TCP -h 127.0.0.1 -uroot -p"$db_root_password" -e 'SELECT 1' >/dev/null 2>&1 && return
	mysql -uroot -e 'SELECT 1' >/dev/null 2>&1 \
		|| fail "MariaDB refuses root with password '$db_root_password'; set EVENT_STREAMING_DB_ROOT_PASSWORD to its root password"
	say "setting the MariaDB root password"
	mysql -uroot -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('$db_root_password') OR unix_socket; FLUSH PRIVILEGES;" \
		|| fail "could not set the MariaDB root password"
	done_step "MariaDB root password set (EVENT_STREAMING_DB_ROOT_PASSWORD)"
}

# --- the bench ------------------------------------------------------------------------------

# frappe-bench from PyPI, in its own environment rather than the system's Python
ensure_bench_cli() {
	if [ ! -x "$cli_env/bin/bench" ]; then
		say "installing frappe-bench into $cli_env"
		if ! { python3 -m venv "$cli_env" && "$cli_env/bin/python" -m pip install -q frappe-bench; } >"$logs/bench-cli.log" 2>&1; then
			rm -rf "$cli_env"
			fail "could not install frappe-bench (see $logs/bench-cli.log)"
		fi
		done_step "bench CLI $("$cli_env/bin/bench" --version 2>/dev/null) installed in $cli_env"
	fi
	# bench init runs "bench build" by name
	export PATH="$cli_env/bin:$PATH"
}

bench_complete() {
	[ -f "$bench_path/sites/apps.txt" ] && [ -x "$python" ] && "$python" -c "import frappe" 2>/dev/null
}

# Where bench init takes Frappe from: a local clone, or Frappe's public repository if it answers.
frappe_source() {
	if [ -n "$frappe_path" ]; then
		frappe_path="$(realpath -m "$frappe_path")"
		git -C "$frappe_path" rev-parse --verify -q "refs/heads/$frappe_branch" >/dev/null 2>&1 \
			|| fail "--frappe-path $frappe_path is not a git clone of Frappe with a $frappe_branch branch"
		echo "$frappe_path"
	elif GIT_TERMINAL_PROMPT=0 timeout 60 git ls-remote --heads "$frappe_repo" "$frappe_branch" >/dev/null 2>&1; then
		echo "$frappe_repo"
	else
		fail "cannot reach $frappe_repo. On a machine without access to it, clone Frappe elsewhere and
pass the clone with --frappe-path DIR (or EVENT_STREAMING_FRAPPE_PATH=DIR); its $frappe_branch branch is used"
	fi
}

init_bench() {
	if bench_complete; then
		say "reusing the bench at $bench_path"
		return
	fi
	[ -e "$bench_path" ] \
		&& fail "$bench_path exists but is not a working bench (an interrupted init?); remove it, or pass another --bench"
	local origin
	origin="$(frappe_source)" || exit 1
	mkdir -p "$(dirname "$bench_path")" || fail "cannot create $(dirname "$bench_path")"
	say "bench init $bench_path from $origin ($frappe_branch); this takes several minutes (log: $logs/bench-init.log)"
	# bench's command line refuses root unless the bench's config names a frappe_user, and a new
	# bench has no config yet: as root, run its init command without that front end. Init writes
	# frappe_user (the current user) into the config, so the "bench build" it runs is accepted.
	# The answer "y" makes bench remove a half-made bench if init fails, so a rerun starts clean.
	local run_bench=("$cli_env/bin/bench")
	if [ "$(id -u)" = 0 ]; then
		run_bench=("$cli_env/bin/python" -c 'from bench.commands import bench_command; bench_command(prog_name="bench")')
	fi
	# Backups by cron are for production benches; Redis configs are generated because the sites'
	# Redis URLs come from them.
	(cd "$(dirname "$bench_path")" && echo y | "${run_bench[@]}" init "$bench_path" \
		--frappe-branch "$frappe_branch" --frappe-path "$origin" --python "$(python3 -c 'import sys; print(sys.executable)')" \
		--no-backups) >"$logs/bench-init.log" 2>&1
	bench_complete || { tail -n 30 "$logs/bench-init.log" >&2; fail "bench init failed (see $logs/bench-init.log)"; }
	done_step "bench created at $bench_path (Frappe from $origin, $frappe_branch)"
}

# Frappe 15 imports pkg_resources (Google Drive's client library, on every new site), which
# setuptools 81 and later no longer ship; the bench's environment gets a setuptools that has it.
ensure_pkg_resources() {
	"$python" -c "import pkg_resources" >/dev/null 2>&1 && return
	say "installing setuptools<81 into the bench's environment (Frappe 15 needs pkg_resources)"
	"$python" -m pip install -q "setuptools<81" >"$logs/setuptools.log" 2>&1 \
		|| fail "could not install setuptools<81 (see $logs/setuptools.log)"
	done_step "setuptools<81 installed in the bench's environment, for pkg_resources"
}

# --- demo -----------------------------------------------------------------------------------

demo_subscribed=0
run_demo() {
	local site
	trap stop_demo EXIT
	trap 'exit 0' INT TERM
	for site in "$producer" "$consumer"; do
		frappe_cmd --site "$site" set-config pause_scheduler 0 --parse >/dev/null
		frappe_cmd --site "$site" enable-scheduler >/dev/null 2>&1
	done
	start_web_server
	start_worker
	start_scheduler
	say "subscribing $consumer to ToDo and Note on $producer"
	demo_subscribed=1
	demo_subscription subscribe >"$logs/demo-subscription.log" 2>&1 \
		|| fail "the subscription failed (see $logs/demo-subscription.log)"
	cat <<EOF

The demo is running (logs in $logs):
  producer  http://$producer:$port   Administrator / admin
  consumer  http://$consumer:$port   Administrator / admin
A ToDo or Note made on the producer appears on the consumer within seconds
(consumer: Event Streaming > Event Producer, Event Sync Log). Ctrl-C stops it.
EOF
	wait
}

demo_subscription() {
	(cd "$bench_path/sites" && "$python" "$here/scripts/lib/demo_subscription.py" "$1" \
		"$producer" "http://$producer:$port" "$consumer" "http://$consumer:$port")
}

# Leave the sites as the test runner and the benchmark expect them: no subscription of the demo
# (the benchmark measures writes with no consumer), servers stopped, schedulers paused.
# shellcheck disable=SC2317  # run by the EXIT trap
stop_demo() {
	local pid site
	# Ctrl-C may also have ended what this output goes to (| tee), a wrapper (flock) or the terminal
	# window, and may be pressed again: the clean-up must still run to the end
	trap '' PIPE HUP INT TERM
	say "stopping the demo"
	if [ "$demo_subscribed" = 1 ]; then
		demo_subscription unsubscribe >>"$logs/demo-subscription.log" 2>&1 \
			|| say "could not remove the demo's subscription (see $logs/demo-subscription.log)"
	fi
	for pid in "${started_pids[@]:-}"; do
		[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	for site in "$producer" "$consumer"; do
		frappe_cmd --site "$site" set-config pause_scheduler 1 --parse >/dev/null 2>&1
	done
}

# --- main -----------------------------------------------------------------------------------

ensure_system_packages
check_python
configure_mariadb
ensure_mariadb
ensure_db_root_password
ensure_bench_cli
init_bench

# from here on the logs are the bench's, where scripts/two_site_tests.sh keeps its own
logs="$bench_path/logs/event_streaming_tests"
mkdir -p "$logs"
ensure_pkg_resources
ensure_database_and_redis
[ "$db_type" = postgres ] && ensure_postgres
setup_two_sites

printf '\n'
say "done"
for line in "${did[@]:-nothing new: everything was already in place}"; do printf '  - %s\n' "$line"; done
cat <<EOF
  bench:  $bench_path (Frappe $("$python" -c 'import frappe; print(frappe.__version__)' 2>/dev/null))
  sites:  http://$producer:$port and http://$consumer:$port (Administrator / admin), this checkout installed
  tests:  scripts/two_site_tests.sh --bench $bench_path$([ "$db_type" = postgres ] && printf ' --db-type postgres')$([ "$port" != 8000 ] && printf ' (with EVENT_STREAMING_PORT=%s)' "$port")
  demo:   scripts/dev_bench.sh --bench $bench_path$([ "$db_type" = postgres ] && printf ' --db-type postgres') --demo
EOF

[ "$demo" = 1 ] && run_demo
exit 0
