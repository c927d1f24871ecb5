-- A neutralized copy of a production database (odoo-bin neutralize, or a
-- staging copy on odoo.sh) must not reach the real CertCapture account: it
-- would sync real customers and make CertCapture email real certificate
-- requests. CertCapture is switched off, the license key forgotten and the
-- endpoint pointed at Avalara's sandbox.
UPDATE res_company
   SET certcapture_enabled = false,
       certcapture_license_key = NULL,
       certcapture_environment = 'sandbox',
       certcapture_custom_url = NULL;
