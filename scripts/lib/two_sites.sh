#!/usr/bin/env bash
# The one way to set up the two sites on a bench: es-producer.localhost and es-consumer.localhost
# (es-producer-pg.localhost and es-consumer-pg.localhost on PostgreSQL), each with host_name http://SITE:PORT (so get_url() is stable), this checkout installed and
# migrated, and an /etc/hosts entry.
#
# Sourced by scripts/two_site_tests.sh and scripts/dev_bench.sh. The sourcing script sets here (the
# checkout), bench_path, python, logs, port, db_root_password, producer and consumer, and defines
# say and fail; MariaDB must be up (ensure_database_and_redis in bench_services.sh). With
# db_type=postgres the sites are created on PostgreSQL instead (ensure_postgres must have run), as
# its postgres user with ${EVENT_STREAMING_PG_ROOT_PASSWORD:-root}.
# shellcheck disable=SC2154  # the variables above come from the sourcing script

# A frappe command on the bench, the way bench itself runs it (the bench CLI refuses to run as root).
frappe_cmd() { (cd "$bench_path/sites" && "$python" -m frappe.utils.bench_helper frappe "$@"); }

# Link this checkout into the bench as apps/event_streaming and install it into the bench's Python.
link_checkout() {
	local apps="$bench_path/sites/apps.txt"
	if ! grep -qx event_streaming "$apps"; then
		# bench init writes apps.txt without a final newline
		[ -n "$(tail -c 1 "$apps")" ] && echo >>"$apps"
		echo event_streaming >>"$apps"
	fi
	if [ "$(readlink -f "$bench_path/apps/event_streaming")" != "$here" ]; then
		say "linking this checkout into the bench"
		rm -rf "$bench_path/apps/event_streaming"
		ln -s "$here" "$bench_path/apps/event_streaming"
		"$python" -m pip install -q -e "$here" >"$logs/pip.log" 2>&1 || fail "pip install of the app failed (see $logs/pip.log)"
	fi
	"$python" -c "import event_streaming" 2>/dev/null || "$python" -m pip install -q -e "$here" >"$logs/pip.log" 2>&1
}

db_type_label() { [ "${db_type:-mariadb}" = postgres ] && echo PostgreSQL || echo MariaDB; }

# The options of new-site (db_site_options) and drop-site (db_root_options) for a database type.
db_site_options_for() {
	case "$1" in
		postgres)
			db_root_options=(--db-root-username postgres --db-root-password "${EVENT_STREAMING_PG_ROOT_PASSWORD:-root}")
			db_site_options=(--db-type postgres "${db_root_options[@]}")
			;;
		mariadb)
			db_root_options=(--db-root-username root --db-root-password "$db_root_password")
			db_site_options=("${db_root_options[@]}" --no-mariadb-socket)
			;;
		*) fail "unknown database type $1 (mariadb or postgres)" ;;
	esac
}

# Create (if missing), configure, install and migrate both sites. A site is migrated again only
# when the checkout changed since its last migration (commit plus uncommitted .json/.py changes).
setup_two_sites() {
	link_checkout
	db_site_options_for "${db_type:-mariadb}"
	setup_site "$producer" producer
	setup_site "$consumer" consumer
}

# The commit plus the content of uncommitted DocTypes and code: an edit after the last migrate (a new
# field) must migrate again, not only a change in which files differ.
checkout_id() {
	[ -n "${checkout_id_memo:-}" ] || checkout_id_memo="$(cd "$here" && {
		git rev-parse HEAD 2>/dev/null
		git diff HEAD -- '*.json' '*.py' 2>/dev/null
		git ls-files --others --exclude-standard -- '*.json' '*.py' 2>/dev/null | xargs -r cat
	} | md5sum | cut -c1-12)"
	echo "$checkout_id_memo"
}

# setup_site SITE producer|consumer: create it if missing (on db_type's database), configure it for
# its role, install and migrate this checkout, make it resolve. Also brings an existing site of the
# other database to this checkout (scripts/two_site_tests.sh, for test_mixed_databases).
setup_site() {
	local site="$1" role="$2"
	if [ ! -d "$bench_path/sites/$site" ]; then
		say "creating $site on $(db_type_label)"
		if ! frappe_cmd new-site "$site" "${db_site_options[@]}" --admin-password admin \
			>"$logs/new-site-$site.log" 2>&1; then
			# a half-made site would be taken for a made one next time
			frappe_cmd drop-site "$site" "${db_root_options[@]}" --force --no-backup >/dev/null 2>&1
			fail "could not create $site (see $logs/new-site-$site.log)"
		fi
	fi
	frappe_cmd --site "$site" set-config host_name "http://$site:$port" >/dev/null
	frappe_cmd --site "$site" set-config allow_tests 1 --parse >/dev/null
	frappe_cmd --site "$site" set-config pause_scheduler 1 --parse >/dev/null
	# the suite's cmd: condition fixture, allowed on the test producer only (never in hooks.py)
	if [ "$role" = producer ]; then frappe_cmd --site "$site" set-config event_streaming_conditions '["event_streaming.tests.fixtures.can_sync_note", "event_streaming.tests.fixtures.note_condition_running_sql"]' --parse >/dev/null; fi
	# the suite runs on the consumer and finds its producer here (event_streaming/tests/utils.py)
	if [ "$role" = consumer ]; then frappe_cmd --site "$site" set-config event_streaming_test_producer "$producer" >/dev/null; fi
	if ! frappe_cmd --site "$site" list-apps 2>/dev/null | grep -q event_streaming; then
		say "installing event_streaming on $site"
		frappe_cmd --site "$site" install-app event_streaming >"$logs/install-$site.log" 2>&1 \
			|| fail "install-app failed on $site (see $logs/install-$site.log)"
		rm -f "$bench_path/sites/$site/.event_streaming_checkout"
	fi
	if [ "$(cat "$bench_path/sites/$site/.event_streaming_checkout" 2>/dev/null)" != "$(checkout_id)" ]; then
		say "migrating $site to this checkout"
		frappe_cmd --site "$site" migrate >"$logs/migrate-$site.log" 2>&1 \
			|| fail "migrate failed on $site (see $logs/migrate-$site.log)"
		checkout_id >"$bench_path/sites/$site/.event_streaming_checkout"
	fi
	if ! getent hosts "$site" >/dev/null; then
		if [ -w /etc/hosts ]; then
			say "adding $site to /etc/hosts"
			echo "127.0.0.1 $site" >>/etc/hosts
		else
			fail "$site does not resolve; add '127.0.0.1 $site' to /etc/hosts"
		fi
	fi
}
