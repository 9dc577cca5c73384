"""Database lock names and keys: stable, site-scoped, within each database's limits."""

from event_streaming.streaming import lock_keys


def test_mariadb_lock_name_fits_and_keeps_its_format():
	name = lock_keys.mariadb_lock_name("es-consumer.localhost", "pull::" + "x" * 500)
	assert len(name) <= 64
	assert name == "event_streaming:" + name.split(":", 1)[1]
	# the format the app has always used: the same name on a site before and after an upgrade
	assert lock_keys.mariadb_lock_name("a", "b") == "event_streaming:7288d57385d66a9e0d484f5a00a104142850b82b"


def test_postgres_lock_key_is_a_signed_64_bit_integer():
	for key in ("sequence", "pull::http://es-producer.localhost:8000", ""):
		number = lock_keys.postgres_lock_key("es-consumer-pg.localhost", key)
		assert -(2**63) <= number < 2**63


def test_keys_are_stable_and_scoped_to_the_site():
	key = lock_keys.postgres_lock_key("es-consumer.localhost", "sequence")
	assert key == lock_keys.postgres_lock_key("es-consumer.localhost", "sequence")
	assert key != lock_keys.postgres_lock_key("es-producer.localhost", "sequence")
	assert key != lock_keys.postgres_lock_key("es-consumer.localhost", "notify")
	assert lock_keys.mariadb_lock_name("one", "sequence") != lock_keys.mariadb_lock_name("two", "sequence")


def test_both_come_from_the_same_digest():
	name = lock_keys.mariadb_lock_name("site", "key")
	key = lock_keys.postgres_lock_key("site", "key")
	assert int(name.split(":", 1)[1][:16], 16) == key % 2**64
