"""Secrets stay masked in tracebacks with variables and in text a peer sends back."""

import json
from urllib.parse import urlencode

from event_streaming.streaming.redaction import MASK, Secret, redact

SECRET = "5f0c1d2e3a4b5c6"


def test_secret_is_masked_in_repr_alone_and_inside_containers():
	value = Secret(SECRET)
	assert SECRET not in repr(value)
	assert SECRET not in repr({"Authorization": Secret(f"token key:{SECRET}")})
	assert SECRET not in str({"data": value, "rows": [value]})
	assert MASK in repr(value)


def test_secret_keeps_its_value_where_it_is_used():
	value = Secret(SECRET)
	assert value == SECRET
	assert f"token key:{value}" == f"token key:{SECRET}"
	assert value.encode() == SECRET.encode()
	assert SECRET in urlencode({"data": json.dumps({"api_secret": value})})


def test_the_variables_of_a_failing_frame_print_no_secret():
	"""Frappe's traceback with variables prints each local's repr, dicts included."""

	def send(authorization):
		headers = {"Authorization": authorization}  # noqa: F841 - inspected below
		raise ConnectionError("peer down")

	try:
		send(Secret(f"token key:{SECRET}"))
	except ConnectionError as error:
		frame = error.__traceback__.tb_next.tb_frame
	assert set(frame.f_locals) == {"authorization", "headers"}
	assert all(SECRET not in repr(value) for value in frame.f_locals.values())


def test_redact_masks_known_secrets_and_secret_shapes():
	text = f"peer said: bad header token abcdef123:{SECRET} and api_secret={SECRET}"
	assert SECRET not in redact(text, [SECRET])
	assert SECRET not in redact(text)  # by shape alone
	assert redact('{"api_secret": "zzzzzzzzzzzz"}') == '{"api_secret": "' + MASK + '"}'
	assert redact("password%3Dhunter2hunter2") == "password%3D" + MASK


def test_redact_leaves_ordinary_text_and_short_values_alone():
	assert redact("Could not reach http://peer: refused", ["abc"]) == "Could not reach http://peer: refused"
	assert redact(None) is None
	assert redact("") == ""


def test_redacted_text_can_always_be_stored():
	"""A peer's error text is kept after redaction: a NUL or a lone surrogate must not fail that write."""
	assert redact("refused\x00 \ud800 here") == "refused ? here"
