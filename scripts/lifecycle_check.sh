#!/usr/bin/env bash
# Install, migrate twice and uninstall event_streaming on a fresh site of an EXISTING bench, then
# check that nothing of the app is left in the database. Never installs or builds Frappe.
#   scripts/lifecycle_check.sh [--bench PATH] [--db-type mariadb|postgres]
# --db-type postgres does it on a PostgreSQL site (es-lifecycle-pg.localhost), starting PostgreSQL
# if it is down (see ensure_postgres in scripts/lib/bench_services.sh).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench_path="${EVENT_STREAMING_BENCH:-/opt/frappe-bench}"
db_type=mariadb
while [ $# -gt 0 ]; do
	case "$1" in
		--bench) bench_path="$2"; shift 2 ;;
		--db-type) db_type="$2"; shift 2 ;;
		*) echo "unknown option $1" >&2; exit 2 ;;
	esac
done
case "$db_type" in
	mariadb) site=es-lifecycle.localhost ;;
	postgres) site=es-lifecycle-pg.localhost ;;
	*) echo "unknown database type $db_type (mariadb or postgres)" >&2; exit 2 ;;
esac
db_root_password="${EVENT_STREAMING_DB_ROOT_PASSWORD:-root}"
python="$bench_path/env/bin/python"
logs="$bench_path/logs/event_streaming_tests"
log="$logs/lifecycle.log"
mkdir -p "$logs"
: >"$log"

# the database options and services of the two-site scripts (db_site_options_for, ensure_postgres)
source "$here/scripts/lib/bench_services.sh"
source "$here/scripts/lib/two_sites.sh"
# (after them: this frappe_cmd writes to the log)
frappe_cmd() { (cd "$bench_path/sites" && "$python" -m frappe.utils.bench_helper frappe "$@") >>"$log" 2>&1; }
fail() { printf 'lifecycle: %s (see %s)\n0 passed, 1 failed\n' "$*" "$log"; frappe_cmd drop-site "$site" "${db_root_options[@]}" --force --no-backup; exit 1; }
step() { printf '== %s\n' "$*"; }
say() { step "$@"; }

[ -f "$bench_path/sites/apps.txt" ] || { echo "lifecycle: no bench at $bench_path"; exit 1; }
[ -e "$bench_path/apps/event_streaming" ] || { echo "lifecycle: run scripts/two_site_tests.sh first to link the app"; exit 1; }

db_site_options_for "$db_type"
[ "$db_type" = postgres ] && ensure_postgres

if [ -d "$bench_path/sites/$site" ]; then
	frappe_cmd drop-site "$site" "${db_root_options[@]}" --force --no-backup
fi
step "creating $site on $(db_type_label)"
frappe_cmd new-site "$site" "${db_site_options[@]}" --admin-password admin || fail "new-site failed"
step "install-app"
frappe_cmd --site "$site" install-app event_streaming || fail "install-app failed"
step "migrate, twice"
frappe_cmd --site "$site" migrate || fail "first migrate failed"
frappe_cmd --site "$site" migrate || fail "second migrate failed"

step "checking the installed schema, then uninstalling"
cat >"$bench_path/sites/.es_lifecycle_check.py" <<'PY'
import sys

import frappe

site, phase = sys.argv[1], sys.argv[2]
frappe.init(site=site)
frappe.connect()
ours = frappe.get_all("DocType", filters={"module": "Event Streaming"}, pluck="name")
OUR_TABLES = {
	"tabEvent Producer", "tabEvent Producer Document Type", "tabEvent Consumer",
	"tabEvent Consumer Document Type", "tabEvent Update Log", "tabEvent Update Log Consumer",
	"tabEvent Sync Log", "tabEvent Producer Last Update", "tabDocument Type Mapping",
	"tabDocument Type Field Mapping", "tabEvent Initial Sync",
}
tables = sorted(OUR_TABLES & set(frappe.db.get_tables(cached=False)))
fields = frappe.get_all("Custom Field", filters={"fieldname": ("in", ["remote_docname", "remote_site_name"])}, pluck="name")
if phase == "installed":
	assert len(ours) == 12, ours
	assert len(tables) == 11, tables
	assert frappe.db.exists("Role", "Event Streaming Subscriber"), "the subscriber role is missing"
	from frappe.custom.doctype.custom_field.custom_field import create_custom_field

	for fieldname in ("remote_docname", "remote_site_name"):
		create_custom_field("ToDo", {"fieldname": fieldname, "label": fieldname, "fieldtype": "Data", "read_only": 1})
	frappe.db.commit()
else:
	leftovers = {"doctypes": ours, "tables": tables, "custom_fields": fields}
	leftovers["module"] = frappe.db.exists("Module Def", "Event Streaming")
	leftovers["workspace"] = frappe.db.exists("Workspace", "Event Streaming")
	leftovers["role"] = frappe.db.exists("Role", "Event Streaming Subscriber")
	leftovers["report"] = frappe.db.exists("Report", "Event Streaming Health")
	assert not any(leftovers.values()), leftovers
print(phase, "ok")
PY
(cd "$bench_path/sites" && "$python" .es_lifecycle_check.py "$site" installed >>"$log" 2>&1) || fail "installed schema is incomplete"
frappe_cmd --site "$site" uninstall-app event_streaming --yes --no-backup --force || fail "uninstall-app failed"
(cd "$bench_path/sites" && "$python" .es_lifecycle_check.py "$site" uninstalled >>"$log" 2>&1) || fail "uninstall left something behind"
rm -f "$bench_path/sites/.es_lifecycle_check.py"
frappe_cmd drop-site "$site" "${db_root_options[@]}" --force --no-backup
echo "1 passed, 0 failed"
