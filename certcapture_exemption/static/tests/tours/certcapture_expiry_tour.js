/** @odoo-module **/
import { registry } from "@web/core/registry";

// The customer's coverage by state, and its one click for the missing ones.
registry.category("web_tour.tours").add("certcapture_coverage_tour", {
    steps: () => [
        {
            trigger: ".o_notebook .nav-link:contains(Tax Exemption)",
            run: "click",
        },
        {
            content: "Each state the customer ships to, with its status",
            trigger: ".o_certcapture_coverage tr:contains(Oregon):contains(Expiring)",
        },
        {
            trigger: ".o_certcapture_coverage tr:contains(Texas):contains(Covered):contains(TX-OK)",
        },
        {
            trigger: ".o_certcapture_coverage tr:contains(California):contains(Missing)",
        },
        {
            content: "One request for all the missing and expiring states",
            trigger: "button[name=action_certcapture_request_missing_states]",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name=exposure_zone_ids]:contains(California):contains(Oregon)",
        },
        {
            trigger: ".modal .o_field_widget[name=exposure_zone_ids]:not(:contains(Texas))",
        },
    ],
});

// "Expiring in 30 days" on customers and on certificates.
for (const [tour, record] of [
    ["certcapture_expiring_customers_tour", "Certificate expiring in 30 days"],
    ["certcapture_expiring_certificates_tour", "Expiring in 30 days"],
]) {
    registry.category("web_tour.tours").add(tour, {
        steps: () => [
            {
                trigger: ".o_searchview_dropdown_toggler",
                run: "click",
            },
            {
                trigger: `.o_filter_menu .dropdown-item:contains(${record})`,
                run: "click",
            },
            {
                content: "The customer whose certificate expires in 20 days is there",
                trigger: ".o_searchview_facet:contains(expiring), .o_searchview_facet:contains(Expiring)",
            },
            {
                trigger: ".o_content:contains(Cascade Outfitters Test)",
            },
            {
                content: "The one whose certificate expires in 200 days is not",
                trigger: ".o_content:not(:contains(Far Off Co))",
            },
        ],
    });
}
