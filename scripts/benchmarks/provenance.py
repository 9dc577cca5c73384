# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""What the figures were measured on: the checkout (so a run mixing two versions of the code is
noted) and the machine (figures only compare within one machine)."""

import hashlib
import os
import subprocess
from pathlib import Path

from benchmarks.common import REPO


def code_version() -> tuple[str, str]:
	"""The checkout being measured (commit, plus a note on local edits) and a digest of its code."""
	git = ["git", "-C", str(REPO)]
	head = subprocess.run(
		[*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
	).stdout.strip()
	edited = subprocess.run(
		[*git, "status", "--porcelain", "--", "event_streaming"], capture_output=True, text=True
	)
	digest = hashlib.sha1()
	for path in sorted((REPO / "event_streaming").rglob("*")):
		if path.suffix in (".py", ".json") and path.is_file():
			digest.update(str(path.relative_to(REPO)).encode() + path.read_bytes())
	label = (head or "unknown commit") + (" with uncommitted changes" if edited.stdout.strip() else "")
	return label, digest.hexdigest()


def machine(bench) -> str:
	"""CPU, memory, the database server and the disk its data lives on (the write figures depend on it most)."""
	cpu = next(
		(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
		"?",
	)
	memory = next((int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal")), 0)
	if bench.db_type == "postgres":
		setting = "synchronous_commit"
		version, flush, datadir = bench.server.sql(
			"SELECT current_setting('server_version'), current_setting('synchronous_commit'), "
			"current_setting('data_directory')"
		)[0]
	else:
		setting = "innodb_flush_log_at_trx_commit"
		version, flush, datadir = bench.server.sql(
			"SELECT VERSION(), @@innodb_flush_log_at_trx_commit, @@datadir"
		)[0]
	device = subprocess.run(
		["df", "--output=source", datadir], capture_output=True, text=True
	).stdout.split()[-1]
	rotational = Path(f"/sys/block/{Path(device).name}/queue/rotational")
	disk = f"{device} (rotational={rotational.read_text().strip() if rotational.exists() else '?'})"
	return (
		f"{cpu}, {os.cpu_count()} CPUs, {memory / 1048576:.0f} GB RAM; {bench.db_label} {version} "
		f"({setting}={flush}) on {disk}; Frappe {bench.frappe_version}"
	)
