/** @odoo-module **/
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("certcapture_portal_tour", {
    steps: () => [
        {
            content: "The customer's user opens its certificates from the portal home",
            trigger: ".o_portal_index_card:not(.d-none) a[href='/my/exemption-certificates']",
            run: "click",
        },
        {
            content: "Its company's certificate is listed, valid",
            trigger: ".o_certcapture_portal_certificate:contains(WA-TOUR-1):contains(Valid)",
        },
        {
            trigger: ".o_certcapture_portal_certificate a.o_certcapture_portal_pdf",
        },
        {
            content: "Send a new certificate: off to CertExpress (the test checks the landing)",
            trigger: ".o_certcapture_portal_send button[type=submit]",
            run: "click",
        },
    ],
});
