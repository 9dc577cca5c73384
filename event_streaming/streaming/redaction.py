# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Keep API secrets out of tracebacks, logs and messages. No frappe import.

Frappe logs a failed background job or request with every local variable of every frame
(``get_traceback(with_context=True)``) and masks only a few exact names. Our frames hold
``Authorization`` headers and registration bodies, so secrets travel as :class:`Secret`, whose
``repr`` is masked wherever it is printed, alone or inside a dict. Text that may still carry one
(a peer's error message echoing our header, a traceback) goes through :func:`redact`.
"""

import re

from event_streaming.streaming.payload import storable_text

MASK = "********"
# "token key:secret" as an Authorization header, and secret-named fields in JSON or form bodies
_AUTH_HEADER = re.compile(r"(\btoken\s+)[^\s:'\"]+:[^\s'\",}]+", re.IGNORECASE)
_SECRET_FIELD = re.compile(
	r"""((?:api_secret|password|pwd)["']?\s*(?:[:=]|%3A|%3D)\s*["']?)[^"'&\s,}]+""", re.IGNORECASE
)
# too short to be a generated secret: replacing it would mangle unrelated text
MIN_SECRET_LENGTH = 8


class Secret(str):
	"""A string whose repr never shows its value: safe to hold in a local or a dict that a
	traceback with variables prints. Its value is used as usual (headers, bodies, f-strings)."""

	__slots__ = ()

	def __repr__(self) -> str:
		return repr(MASK)


def redact(text: str | None, secrets=()) -> str | None:
	"""``text`` with every known secret, Authorization token and secret-named field masked."""
	if not text:
		return text
	text = str(text)
	for secret in sorted({str(s) for s in secrets if s and len(str(s)) >= MIN_SECRET_LENGTH}, key=len)[::-1]:
		text = text.replace(secret, MASK)
	text = _AUTH_HEADER.sub(lambda match: match.group(1) + MASK, text)
	# redacted text is kept (error fields, Error Log): it must also be storable
	return storable_text(_SECRET_FIELD.sub(lambda match: match.group(1) + MASK, text))
