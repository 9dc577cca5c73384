# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""What a user does in Desk, as Playwright steps: open a form, type into a field, save, read the
message that comes back."""

from urllib.parse import quote

ERROR_DIALOG = ".modal.show .msgprint, .modal.show .modal-body"


def form_url(site_url: str, doctype: str, name: str | None = None) -> str:
	route = doctype.lower().replace(" ", "-")
	return f"{site_url}/app/{route}/{quote(name, safe='') if name else 'new'}"


def visit(page, url: str) -> None:
	"""Go to a Desk page and wait until Desk has booted (the load event may wait on the realtime
	connection, which the test bench does not run)."""
	page.goto(url, wait_until="domcontentloaded")
	page.wait_for_function("() => window.frappe && frappe.boot && frappe.boot.user && window.cur_page")


def open_form(page, site_url: str, doctype: str, name: str | None = None) -> None:
	visit(page, form_url(site_url, doctype, name))
	page.wait_for_function(
		"([doctype, name]) => window.cur_frm && cur_frm.doctype === doctype && cur_frm.doc"
		" && (name ? cur_frm.doc.name === name : cur_frm.is_new())",
		arg=[doctype, name],
	)
	page.wait_for_selector(".form-layout", state="visible")


def field(page, fieldname: str):
	return page.locator(f'.form-layout .frappe-control[data-fieldname="{fieldname}"]:visible').first


def fill(page, fieldname: str, value: str) -> None:
	"""Type into a field of the form and leave it, as a user would."""
	fill_control(page, field(page, fieldname), value)


def fill_control(page, control, value: str) -> None:
	fieldtype = control.get_attribute("data-fieldtype")
	if fieldtype == "Select":
		control.locator("select").select_option(value)
		return
	if fieldtype == "Check":
		control.locator("input").set_checked(bool(value))
		return
	box = control.locator("input").first
	box.click()
	box.fill(value)
	if fieldtype == "Link":
		pick_from_dropdown(page, value)
	box.evaluate("element => element.blur()")


def pick_from_dropdown(page, value: str) -> None:
	item = page.locator(f'ul[role=listbox]:not([hidden]) [role=option] p[title="{value}"]').first
	item.wait_for(state="visible")
	item.click()


def add_grid_row(page, table_fieldname: str, values: dict[str, str]) -> None:
	"""Fill a new row of a child table in the row's form (a new document's mandatory table starts
	with one empty row, which is used first)."""
	grid = field(page, table_fieldname)
	rows = grid.locator(".grid-body .grid-row")
	first_field = next(iter(values))
	empty = rows.count() and not page.evaluate(
		"([table, fieldname]) => (cur_frm.doc[table] || []).slice(-1)[0]?.[fieldname]",
		[table_fieldname, first_field],
	)
	if not empty:
		grid.locator(".grid-add-row").click()
	if not page.locator(".grid-row-open").is_visible():
		rows.last.locator(".btn-open-row").click()
	fill_open_row(page, values)


def edit_grid_row(page, table_fieldname: str, idx: int, values: dict[str, str]) -> None:
	row = field(page, table_fieldname).locator(f'.grid-body .grid-row[data-idx="{idx}"]')
	row.locator(".btn-open-row").click()
	fill_open_row(page, values)


def fill_open_row(page, values: dict[str, str]) -> None:
	open_row = page.locator(".grid-row-open")
	open_row.wait_for(state="visible")
	for fieldname, value in values.items():
		fill_control(page, open_row.locator(f'.frappe-control[data-fieldname="{fieldname}"]').first, value)
	open_row.locator(".grid-collapse-row").first.click()
	open_row.wait_for(state="hidden")


def save(page) -> None:
	page.keyboard.press("Control+s")


def wait_saved(page, timeout: float = 60_000) -> None:
	page.wait_for_function(
		"() => window.cur_frm && !cur_frm.is_new() && !cur_frm.is_dirty() && !cur_frm.saving",
		timeout=timeout,
	)


def dialog_text(page, timeout: float = 60_000) -> str:
	dialog = page.locator(ERROR_DIALOG).first
	dialog.wait_for(state="visible", timeout=timeout)
	return dialog.inner_text()


def close_dialogs(page) -> None:
	while page.locator(".modal.show").count():
		page.keyboard.press("Escape")
		page.wait_for_timeout(300)


def click_action(page, group: str | None, label: str) -> None:
	"""A button of the form's toolbar, or an item of one of its drop-down groups."""
	if group:
		page.locator(".page-actions .btn", has_text=group).first.click()
		page.locator(".page-actions .dropdown-menu:visible .dropdown-item", has_text=label).first.click()
	else:
		page.locator(".page-actions .btn:visible", has_text=label).first.click()


def toast_text(page, timeout: float = 60_000) -> str:
	toast = page.locator("#alert-container .alert-message").last
	toast.wait_for(state="visible", timeout=timeout)
	return toast.inner_text()
