"""Play the whole story in the running add-on and take README's screenshots.

Run `make reset-demo && make run` first, then, from any venv:
    pip install playwright && python scripts/screenshots.py ["Customer name"]
Playwright drives Debian's Chromium (no browser download). The customer must
be a demo customer with no certificate and no request yet.
"""

import json
import sys
import urllib.request
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright

ODOO = "http://127.0.0.1:8069"
SANDBOX = "http://127.0.0.1:8099"
OUT = Path(__file__).resolve().parent.parent / "docs" / "images"
CUSTOMER = sys.argv[1] if len(sys.argv) > 1 else "Cascade Outfitters"
PRODUCT = "Climbing rope, 60 m"  # demo product with the demo WA sales tax
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def log_in(page):
    page.goto(f"{ODOO}/web/login")
    page.fill("input[name=login]", "admin")
    page.fill("input[name=password]", "admin")
    page.click("button[type=submit]")
    page.wait_for_url("**/odoo**")


def order_and_request(page):
    """New quotation, the prompt, the request: returns the upload link."""
    page.goto(f"{ODOO}/odoo/action-sale.action_quotations_with_onboarding/new")
    page.locator(".o_field_widget[name=partner_id] input").fill(CUSTOMER)
    page.locator(f".ui-menu-item > a:has-text('{CUSTOMER}')").first.click()
    page.wait_for_timeout(800)
    page.click("a:has-text('Add a product')")
    page.locator(".o_data_row .o_field_widget[name=product_template_id] input").fill(PRODUCT)
    page.locator(f".ui-menu-item > a:has-text('{PRODUCT}')").first.click()
    page.wait_for_timeout(800)
    page.click(".o_form_button_save")
    page.wait_for_selector(".modal-body:has-text('has no valid exemption certificate')")
    page.wait_for_timeout(500)
    page.screenshot(path=OUT / "order-prompt.png")
    page.click(".modal-footer button.btn-secondary")  # "No": see the taxed order first
    page.wait_for_timeout(800)
    page.screenshot(path=OUT / "order-taxed.png")
    page.click("button[name=action_certcapture_request_certificate]")
    page.wait_for_selector(".modal button[name=action_send]")
    page.wait_for_timeout(500)
    page.screenshot(path=OUT / "request-wizard.png")
    page.click(".modal button[name=action_send]")
    page.wait_for_selector(".o-mail-Message-body:has-text('Certificate request sent')")
    # The customer's email: the sandbox keeps what CertCapture would send.
    with urllib.request.urlopen(f"{SANDBOX}/_sandbox/outbox", timeout=10) as answer:
        emails = json.load(answer)
    emails = emails.get("value", emails) if isinstance(emails, dict) else emails
    return emails[-1]["link"]


def upload_as_customer(browser, link, pdf_path):
    page = browser.new_page(viewport={"width": 1000, "height": 1000})
    page.goto(link)
    page.fill("input[name=exemption_number]", "EX-2026-4471")
    page.select_option("select[name=reason]", label="RESALE")
    page.fill("input[name=signed_date]", date.today().isoformat())
    page.fill("input[name=expiration_date]", (date.today() + timedelta(days=1095)).isoformat())
    page.set_input_files("input[name=document]", str(pdf_path))
    page.screenshot(path=OUT / "certexpress-upload.png", full_page=True)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Thank you')")


def order_after_update(page, order_url):
    """The customer uploaded: an update of the order brings the certificate,
    and its sales tax goes away."""
    page.goto(order_url)
    page.click(".o_notebook .nav-link:has-text('Other Info')")
    page.locator(".o_field_widget[name=client_order_ref] input").fill("PO-2026-11")
    page.click(".o_form_button_save")
    page.wait_for_selector(
        ".o_field_widget[name=certcapture_status]:has-text('Certificate on file')"
    )
    page.click(".o_notebook .nav-link:has-text('Order Lines')")
    page.wait_for_timeout(800)
    page.screenshot(path=OUT / "order-untaxed.png")


def customer_tab_after_refresh(page):
    page.goto(f"{ODOO}/odoo/contacts")
    page.locator(".o_searchview_input").fill(CUSTOMER)
    page.keyboard.press("Enter")
    page.wait_for_timeout(800)
    page.locator(f".o_kanban_record:has-text('{CUSTOMER}')").first.click()
    page.click("a[name=certcapture_tax_exemption]")
    page.click("button[name=action_certcapture_refresh]")
    page.wait_for_selector(".o_field_widget[name=certcapture_certificate_status]:has-text('Valid')")
    page.wait_for_timeout(500)
    page.screenshot(path=OUT / "customer-tab.png")


def settings(page):
    page.goto(f"{ODOO}/odoo/settings#sale_management")
    page.locator("#certcapture_behaviour").scroll_into_view_if_needed()
    page.wait_for_timeout(1000)
    page.screenshot(path=OUT / "settings.png")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    pdf_path = OUT.parent.parent / ".work" / "screenshot-certificate.pdf"
    pdf_path.parent.mkdir(exist_ok=True)
    pdf_path.write_bytes(PDF)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        log_in(page)
        link = order_and_request(page)
        order_url = page.url
        upload_as_customer(browser, link, pdf_path)
        order_after_update(page, order_url)
        customer_tab_after_refresh(page)
        settings(page)
        browser.close()
    print(f"screenshots written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
