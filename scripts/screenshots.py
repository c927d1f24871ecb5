"""Screenshots of the running add-on for README.md (run `make run` first).

Uses Playwright driving Debian's Chromium (no browser download):
    pip install playwright && python scripts/screenshots.py ["Customer name"]
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ODOO = "http://127.0.0.1:8069"
OUT = Path(__file__).resolve().parent.parent / "docs" / "images"
# A demo customer that has no certificate and no request yet (see demo/).
CUSTOMER = sys.argv[1] if len(sys.argv) > 1 else "Lone Star School District"


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{ODOO}/web/login")
        page.fill("input[name=login]", "admin")
        page.fill("input[name=password]", "admin")
        page.click("button[type=submit]")
        page.wait_for_url("**/odoo**")

        # The settings block.
        page.goto(f"{ODOO}/odoo/settings#sale_management")
        page.locator("#certcapture_behaviour").scroll_into_view_if_needed()
        page.wait_for_timeout(1000)
        page.screenshot(path=OUT / "settings.png")

        # The order prompt, right after the first save.
        page.goto(f"{ODOO}/odoo/action-sale.action_quotations_with_onboarding/new")
        page.locator(".o_field_widget[name=partner_id] input").fill(CUSTOMER)
        page.locator(f".ui-menu-item > a:has-text('{CUSTOMER}')").first.click()
        page.wait_for_timeout(800)
        page.click(".o_form_button_save")
        page.wait_for_selector(".modal-body:has-text('has no valid exemption certificate')")
        page.wait_for_timeout(500)
        page.screenshot(path=OUT / "order-prompt.png")
        page.click(".modal-footer button.btn-primary")
        page.wait_for_selector(".modal button[name=action_send]")
        page.wait_for_timeout(500)
        page.screenshot(path=OUT / "request-wizard.png")
        page.click(".modal button[name=action_send]")
        page.wait_for_selector(".o-mail-Message-body:has-text('Certificate request sent')")
        page.wait_for_timeout(800)
        page.screenshot(path=OUT / "order-after-request.png")

        # The customer's Tax Exemption tab.
        page.goto(f"{ODOO}/odoo/contacts")
        page.locator(".o_searchview_input").fill(CUSTOMER)
        page.keyboard.press("Enter")
        page.wait_for_timeout(800)
        page.locator(f".o_kanban_record:has-text('{CUSTOMER}')").first.click()
        page.click("a[name=certcapture_tax_exemption], .nav-link:has-text('Tax Exemption')")
        page.wait_for_timeout(800)
        page.screenshot(path=OUT / "customer-tab.png", full_page=True)
        browser.close()
    print(f"screenshots written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
