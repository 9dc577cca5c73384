# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Statistics and the results table: each figure is the median of the runs with min and max, one
column per N. Measurement modules add their rows through a Report; it also fills the JSON results."""

import statistics


def summary(values: list) -> dict | None:
	values = [value for value in values if value is not None]
	if not values:
		return None
	return {"median": statistics.median(values), "min": min(values), "max": max(values), "values": values}


def percentile(values: list[float], fraction: float) -> float:
	"""Linear interpolation between the closest ranks (numpy's default)."""
	ordered = sorted(values)
	position = (len(ordered) - 1) * fraction
	low = int(position)
	high = min(low + 1, len(ordered) - 1)
	return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def number(value: float) -> str:
	"""Three significant figures or so, without exponent notation."""
	if value == 0:
		return "0"
	if abs(value) >= 100:
		return f"{value:.0f}"
	if abs(value) >= 10:
		return f"{value:.1f}"
	if abs(value) >= 1:
		return f"{value:.2f}"
	return f"{value:.3f}"


def figure(stats: dict | None, unit: str) -> str:
	if not stats:
		return "n/a"
	median, low, high = (number(stats[key]) for key in ("median", "min", "max"))
	return f"{median}{unit}" if low == high else f"{median}{unit} [{low}–{high}]"


def render(rows: list, sizes: list[int]) -> str:
	"""A Markdown table, as docs/benchmark.md quotes it."""
	header = ["Measurement (median [min–max])", *[f"N={size}" for size in sizes]]
	lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["--:"] * len(sizes)) + "|"]
	for label, cells in rows:
		lines.append("| " + " | ".join([label, *[cells.get(size, "") for size in sizes]]) + " |")
	return "\n".join(lines)


class Report:
	"""The rows of the table and the ``results`` part of the JSON, built from each size's results
	(``{size: {phase: what that phase's measure() returned}}``)."""

	def __init__(self, results: dict, args):
		self.results = results
		self.args = args
		self.sizes = list(results)
		self.rows: list = []
		self.data: dict = {}

	def has(self, phase: str) -> bool:
		return any(phase in self.results[size] for size in self.sizes)

	def pick(self, size: int, *path) -> list:
		"""The list at ``path`` in one size's results, or [] where that part was not measured."""
		value = self.results.get(size, {})
		for key in path:
			value = value.get(key, {}) if isinstance(value, dict) else {}
		return value or []

	def by_size(self, *path) -> dict:
		return {size: self.pick(size, *path) for size in self.sizes}

	def cost_values(self, size: int, path: tuple, metric: str) -> list:
		return [cost.get(metric) for cost in self.pick(size, *path)]

	def record(self, label: str, size: int, stats) -> None:
		self.data.setdefault(label, {})[str(size)] = stats

	def section(self, title: str) -> None:
		self.rows.append((f"**{title}**", {size: "" for size in self.sizes}))

	def add(
		self, label: str, values_by_size: dict, unit: str = "", scale: float = 1, extra: dict | None = None
	) -> None:
		"""One row: the runs' values for each size, summarised; ``extra`` is appended to a cell."""
		cells = {}
		for size in self.sizes:
			stats = summary([v * scale for v in values_by_size.get(size, []) if v is not None])
			cells[size] = figure(stats, unit) + ((extra or {}).get(size) or "")
			self.record(label, size, stats)
		self.rows.append((label, cells))

	def render(self) -> str:
		return render(self.rows, self.sizes)
