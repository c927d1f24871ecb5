/** @odoo-module **/
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("certcapture_order_prompt_tour", {
    steps: () => [
        {
            content: "Create a quotation",
            trigger: ".o_list_button_add, .o-kanban-button-new",
            run: "click",
        },
        {
            content: "Pick the exempt customer",
            trigger: ".o_field_widget[name=partner_id] input",
            run: "edit Cascade Outfitters Test",
        },
        {
            trigger: ".ui-menu-item > a:contains(Cascade Outfitters Test)",
            run: "click",
        },
        {
            content: "Save: CertCapture is asked about the certificate",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "The user is prompted at once",
            trigger: ".modal-body:contains(has no valid exemption certificate for Washington)",
        },
        {
            trigger: ".modal-footer button.btn-primary:contains(send a request)",
            run: "click",
        },
        {
            content: "The request comes filled in",
            trigger: ".modal .o_field_widget[name=recipient] input:value(ap@cascade.example.com)",
        },
        {
            trigger: ".modal button[name=action_send]",
            run: "click",
        },
        {
            content: "The request is in the chatter",
            trigger: ".o-mail-Message-body:contains(Certificate request sent)",
        },
    ],
});

registry.category("web_tour.tours").add("certcapture_settings_test_connection_tour", {
    steps: () => [
        {
            content: "An unsaved edit of the company code",
            trigger: ".o_field_widget[name=certcapture_company_code] input",
            run: "edit NOSUCHCODE",
        },
        {
            content: "Test connection with the edit not saved yet",
            trigger: "button[name=action_certcapture_test_connection]",
            run: "click",
        },
        {
            content: "The answer is shown, about what is on the screen",
            trigger: ".o_notification:contains(NOSUCHCODE)",
        },
    ],
});

registry.category("web_tour.tours").add("certcapture_taxes_go_away_tour", {
    steps: () => [
        {
            content: "The quotation is taxed: no certificate yet",
            trigger: ".o_data_row .o_field_widget[name=tax_id]:contains(WA sales tax)",
        },
        {
            content: "The customer uploaded its certificate; the user updates the order",
            trigger: ".o_notebook .nav-link:contains(Other Info)",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=client_order_ref] input",
            run: "edit PO-2026-11",
        },
        {
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "The certificate came back with the update",
            trigger: ".o_field_widget[name=certcapture_status]:contains(Certificate on file)",
        },
        {
            trigger: ".o_notebook .nav-link:contains(Order Lines)",
            run: "click",
        },
        {
            content: "The sales tax went away",
            trigger: ".o_data_row .o_field_widget[name=tax_id]:not(:contains(WA sales tax))",
        },
        {
            content: "The order says which certificate",
            trigger: ".o_field_widget[name=certcapture_tax_note]:contains(WA-RESALE-9)",
        },
    ],
});
