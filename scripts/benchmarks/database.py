# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""The benchmark's SQL on either database Frappe supports. A ``Connection`` is the server's
administrator (MariaDB's root, PostgreSQL's postgres) connected to one site's database, or to the
server itself for its settings and statement counters. Queries are written once, with ``%s``
placeholders (both drivers take them, and expand a tuple after ``IN``), naming tables and columns
through ``quote``: backticks on MariaDB, double quotes on PostgreSQL."""

SITE_PAIRS = {
	"mariadb": ("es-producer.localhost", "es-consumer.localhost"),
	"postgres": ("es-producer-pg.localhost", "es-consumer-pg.localhost"),
}
LABELS = {"mariadb": "MariaDB", "postgres": "PostgreSQL"}


class Connection:
	def __init__(self, db_type: str, host: str, port: int, user: str, password: str, database=None):
		self.db_type = db_type
		self.params = {
			"db_type": db_type,
			"host": host,
			"port": port,
			"user": user,
			"password": password,
			"database": database,
		}
		if db_type == "postgres":
			import psycopg2

			# the server's own database when no site's is named
			self.connection = psycopg2.connect(
				host=host, port=port, user=user, password=password, dbname=database or "postgres"
			)
			self.connection.autocommit = True
		else:
			import pymysql

			self.connection = pymysql.connect(
				host=host, port=port, user=user, password=password, database=database, autocommit=True
			)

	def sql(self, query: str, values=None) -> list:
		with self.connection.cursor() as cursor:
			cursor.execute(query, values)
			return list(cursor.fetchall()) if cursor.description else []

	def quote(self, name: str) -> str:
		return f'"{name}"' if self.db_type == "postgres" else f"`{name}`"

	def table(self, doctype: str) -> str:
		return self.quote(doctype if doctype.startswith("__") else f"tab{doctype}")

	def close(self) -> None:
		self.connection.close()


def connect(params: dict) -> Connection:
	"""A connection from ``Connection.params`` (how a site task gets one the driver described)."""
	return Connection(**params)
