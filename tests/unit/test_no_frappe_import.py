"""The pure streaming modules must load on a machine without frappe and must not pull it in."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

PURE_MODULES = (
	"event_streaming.streaming.diff",
	"event_streaming.streaming.payload",
	"event_streaming.streaming.cursor",
	"event_streaming.streaming.field_mapping",
	"event_streaming.streaming.trust",
	"event_streaming.streaming.redaction",
	"event_streaming.streaming.lock_keys",
)


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_module_imports_without_pulling_in_frappe(module):
	script = (
		"import importlib, sys\n"
		f"importlib.import_module({module!r})\n"
		"assert 'frappe' not in sys.modules, sorted(m for m in sys.modules if m.startswith('frappe'))\n"
		"print('ok')\n"
	)
	result = subprocess.run(
		[sys.executable, "-c", script],
		cwd=REPO_ROOT,
		capture_output=True,
		text=True,
		timeout=60,
	)
	assert result.returncode == 0, result.stderr
	assert result.stdout.strip() == "ok"


def test_all_pure_modules_together_leave_frappe_unloaded():
	script = (
		"import sys\n"
		+ "".join(f"import {module}\n" for module in PURE_MODULES)
		+ "print('frappe' in sys.modules)\n"
	)
	result = subprocess.run(
		[sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
	)
	assert result.returncode == 0, result.stderr
	assert result.stdout.strip() == "False"
