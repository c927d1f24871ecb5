{
    "name": "CertCapture Exemption Certificates",
    "summary": "Collect and check US sales tax exemption certificates with Avalara CertCapture",
    "version": "18.0.2.0.0",
    "category": "Sales",
    "license": "LGPL-3",
    "author": "CertCapture Exemption Developers",
    "website": "https://github.com/certcapture-exemption/certcapture_exemption",
    "depends": ["sale_management", "contacts", "mail"],
    "external_dependencies": {"python": ["requests"]},
    "data": [
        "security/certcapture_security.xml",
        "security/ir.model.access.csv",
        "data/ir_cron_data.xml",
        "views/certcapture_certificate_views.xml",
        "views/certcapture_certificate_request_views.xml",
        "views/certcapture_list_views.xml",
        "views/res_partner_views.xml",
        "views/sale_order_views.xml",
        "views/res_config_settings_views.xml",
        "wizard/certcapture_certificate_request_wizard_views.xml",
        "views/certcapture_menus.xml",
    ],
    "demo": ["demo/certcapture_demo.xml"],
    "assets": {
        "web.assets_backend": [
            "certcapture_exemption/static/src/**/*",
        ],
        "web.assets_tests": [
            "certcapture_exemption/static/tests/tours/**/*",
        ],
    },
    "images": ["static/description/icon.png"],
}
