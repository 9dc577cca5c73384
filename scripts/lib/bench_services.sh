#!/usr/bin/env bash
# The one way to start what the two-site bench needs: MariaDB (or PostgreSQL), Redis, the web server,
# a worker and (for the demo of scripts/dev_bench.sh) the scheduler.
#
# scripts/two_site_tests.sh and scripts/dev_bench.sh source this file; scripts/benchmark.py runs it
# as a command:
#   scripts/lib/bench_services.sh ensure-backing              start MariaDB and Redis if they are down
#   scripts/lib/bench_services.sh ensure-postgres             start PostgreSQL if it is down
#   scripts/lib/bench_services.sh ensure-redis                start Redis if it is down
#   scripts/lib/bench_services.sh web-server-up               exit 0 if something answers on the port
#   scripts/lib/bench_services.sh run-web-server [gunicorn args]
#   scripts/lib/bench_services.sh run-worker [queues]         (default: short,default,long)
# The run-* commands replace themselves with the server (exec), so the caller owns its process and
# stops it by that id. A sourcing script sets bench_path, python, logs, port, db_root_password and
# producer and defines say and fail; as a command they come from EVENT_STREAMING_BENCH,
# EVENT_STREAMING_PORT, EVENT_STREAMING_DB_ROOT_PASSWORD, EVENT_STREAMING_LOGS and
# EVENT_STREAMING_PRODUCER (the site web-server-up pings; es-producer.localhost). PostgreSQL's
# superuser password is EVENT_STREAMING_PG_ROOT_PASSWORD (default root) in both cases.

ensure_database_and_redis() {
	ensure_mariadb
	ensure_redis
}

# Daemons outlive the script that starts them: they must not inherit its descriptors, or one held
# by a caller (the lock of `flock /tmp/es-bench.lock ...`) stays taken for as long as they run.
close_inherited_descriptors() {
	local fd
	for fd in /proc/self/fd/*; do
		fd="${fd##*/}"
		[ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
	done
	return 0
}

# mysqladmin ping answers 0 whenever the server runs, even if the password is refused, so this also
# starts a fresh MariaDB whose root has no password yet (scripts/dev_bench.sh sets it afterwards).
ensure_mariadb() {
	if ! mysqladmin ping -uroot -p"$db_root_password" >/dev/null 2>&1; then
		say "starting MariaDB"
		# without an init system nobody creates the socket directory
		if [ ! -d /run/mysqld ] && [ -w /run ]; then
			mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null
		fi
		(close_inherited_descriptors; exec mysqld_safe >"$logs/mariadb.log" 2>&1 &)
		for _ in $(seq 30); do mysqladmin ping -uroot -p"$db_root_password" >/dev/null 2>&1 && break; sleep 1; done
		mysqladmin ping -uroot -p"$db_root_password" >/dev/null 2>&1 || fail "MariaDB did not start"
	fi
}

# The newest PostgreSQL server installed from Debian's packages, or nothing.
postgres_bin_dir() {
	local dir
	dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
	[ -n "$dir" ] && [ -x "$dir/postgres" ] && echo "$dir"
}

# PostgreSQL on 127.0.0.1:5432 for sites created with --db-type postgres: a cluster of the bench's
# own under $bench_path/postgres-data (initdb on first use), run as the postgres user, whose
# database password is ${EVENT_STREAMING_PG_ROOT_PASSWORD:-root}. Connections over TCP need that
# password; the local socket admits only the postgres system user (peer).
ensure_postgres() {
	local bin data="$bench_path/postgres-data" password="${EVENT_STREAMING_PG_ROOT_PASSWORD:-root}"
	bin="$(postgres_bin_dir)" || fail "PostgreSQL is not installed (apt-get install postgresql)"
	if "$bin/pg_isready" -q -h 127.0.0.1 -p 5432; then
		return 0
	fi
	id postgres >/dev/null 2>&1 || useradd --system --user-group --home-dir /var/lib/postgresql \
		--shell /bin/bash postgres || fail "could not create the postgres user"
	# without an init system nobody creates the socket directory
	if [ ! -d /run/postgresql ] && [ -w /run ]; then
		mkdir -p /run/postgresql && chown postgres:postgres /run/postgresql
	fi
	if [ ! -f "$data/PG_VERSION" ]; then
		say "creating a PostgreSQL cluster in $data"
		mkdir -p "$data" && chown postgres:postgres "$data" && chmod 700 "$data"
		runuser -u postgres -- "$bin/initdb" -D "$data" -U postgres -E UTF8 --locale C.UTF-8 \
			--auth-local peer --auth-host scram-sha-256 >"$logs/postgres-initdb.log" 2>&1 \
			|| fail "initdb failed (see $logs/postgres-initdb.log)"
	fi
	say "starting PostgreSQL"
	touch "$logs/postgres.log" && chown postgres "$logs/postgres.log"
	local options="-c listen_addresses=127.0.0.1 -c port=5432 -c unix_socket_directories=/run/postgresql"
	# per-site statement counts for the benchmark (MariaDB's userstat there); loaded only at start
	if [ -f "$("$bin/pg_config" --pkglibdir 2>/dev/null || echo "$bin/../lib")/pg_stat_statements.so" ]; then
		options+=" -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.max=10000"
	fi
	(close_inherited_descriptors; exec runuser -u postgres -- "$bin/pg_ctl" -D "$data" -l "$logs/postgres.log" \
		-o "$options" start >/dev/null 2>&1)
	for _ in $(seq 30); do "$bin/pg_isready" -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
	"$bin/pg_isready" -q -h 127.0.0.1 -p 5432 || fail "PostgreSQL did not start (see $logs/postgres.log)"
	# the password is set on every start, so changing the variable is enough to change it
	# (on standard input: psql quotes :'password' there, never in -c)
	echo "ALTER USER postgres WITH PASSWORD :'password';" | runuser -u postgres -- "$bin/psql" \
		-h /run/postgresql -p 5432 -q -v ON_ERROR_STOP=1 -v password="$password" >/dev/null \
		|| fail "could not set the password of PostgreSQL's postgres user"
}

# Redis on the ports the bench's common_site_config.json names (bench init generated them).
ensure_redis() {
	local url redis_port
	for url in $("$python" - "$bench_path/sites/common_site_config.json" <<'EOF'
import json, sys
config = json.load(open(sys.argv[1]))
print(" ".join(sorted({config.get("redis_cache", ""), config.get("redis_queue", "")} - {""})))
EOF
	); do
		redis_port="${url##*:}"
		if ! redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
			say "starting Redis on $redis_port"
			(close_inherited_descriptors; exec redis-server --port "$redis_port" --daemonize yes --save "" \
				--appendonly no >/dev/null)
		fi
	done
}

web_server_up() {
	curl -s -o /dev/null "http://$producer:$port/api/method/ping"
}

# Servers run as on a user's bench, which caches compiled modules: with PYTHONDONTWRITEBYTECODE set
# (some sandboxes set it) every background job, a fresh fork, compiled each module it imported anew,
# about 0.25 s per notification or pull.
allow_bytecode_cache() {
	unset PYTHONDONTWRITEBYTECODE
}

# In the foreground: gunicorn serving every site of the bench (extra gunicorn options may be given).
run_web_server() {
	allow_bytecode_cache
	cd "$bench_path/sites" && exec "$bench_path/env/bin/gunicorn" -b "127.0.0.1:$port" -w 3 -t 120 \
		--preload "$@" frappe.app:application
}

# In the foreground: one RQ worker for every site of the bench.
run_worker() {
	allow_bytecode_cache
	cd "$bench_path/sites" && exec "$python" -m frappe.utils.bench_helper frappe worker --queue "${1:-short,default,long}"
}

# In the foreground: the scheduler of every site of the bench (each site's pause_scheduler and
# System Settings still decide whether its jobs are enqueued).
run_scheduler() {
	allow_bytecode_cache
	cd "$bench_path/sites" && exec "$python" -m frappe.utils.bench_helper frappe schedule
}

# In the background, for a sourcing script: the process ids are added to started_pids.
start_web_server() {
	if web_server_up; then
		fail "port $port is already in use; stop that server (it may serve another version of the app)"
	else
		say "starting web server on port $port"
		(run_web_server "$@" >"$logs/web.log" 2>&1) &
		started_pids+=($!)
		for _ in $(seq 60); do web_server_up && break; sleep 1; done
		web_server_up || fail "web server did not start (see $logs/web.log)"
	fi
}

start_worker() {
	say "starting background worker"
	(run_worker "$@" >"$logs/worker.log" 2>&1) &
	started_pids+=($!)
}

start_scheduler() {
	say "starting scheduler"
	(run_scheduler >"$logs/scheduler.log" 2>&1) &
	started_pids+=($!)
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -uo pipefail
	bench_path="${EVENT_STREAMING_BENCH:-/opt/frappe-bench}"
	python="$bench_path/env/bin/python"
	port="${EVENT_STREAMING_PORT:-8000}"
	db_root_password="${EVENT_STREAMING_DB_ROOT_PASSWORD:-root}"
	producer="${EVENT_STREAMING_PRODUCER:-es-producer.localhost}"
	logs="${EVENT_STREAMING_LOGS:-$bench_path/logs/event_streaming_tests}"
	mkdir -p "$logs"
	say() { printf '== %s\n' "$*"; }
	fail() { printf 'bench services: %s\n' "$*" >&2; exit 1; }
	command="${1:-}"
	shift || true
	case "$command" in
		ensure-backing) ensure_database_and_redis ;;
		ensure-postgres) ensure_postgres ;;
		ensure-redis) ensure_redis ;;
		web-server-up) web_server_up ;;
		run-web-server) run_web_server "$@" ;;
		run-worker) run_worker "$@" ;;
		*) echo "usage: $0 ensure-backing | ensure-postgres | ensure-redis | web-server-up | run-web-server [gunicorn args] | run-worker [queues]" >&2; exit 2 ;;
	esac
fi
