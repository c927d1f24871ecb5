/** @odoo-module **/
/**
 * The sale order form of certcapture_exemption.
 *
 * - Orders saved from a form (web_save) leave a missing certificate to the
 *   user; imports and RPC follow the company's policy instead (server side).
 * - Right after the first save (and when an order still waiting for an
 *   answer is opened), if the server flagged the order, the user is asked
 *   whether to send the customer a certificate request. Yes opens the request
 *   already filled in; No clears the flag (the header button stays).
 */
import { useEffect } from "@odoo/owl";
import { ConfirmationDialog } from "@web/core/confirmation_dialog/confirmation_dialog";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { FormController } from "@web/views/form/form_controller";
import { formView } from "@web/views/form/form_view";

export class CertCaptureSaleOrderFormController extends FormController {
    setup() {
        super.setup();
        this.actionService = useService("action");
        this.dialogService = useService("dialog");
        this.certcapturePromptOpen = false;
        // Runs after each render where the flag or the record changed: after
        // the first save (the server has just checked), and when an order
        // that is still waiting for an answer is opened. onRecordSaved would
        // be too early: it runs before the saved values reach the record.
        useEffect(
            (resId, prompt) => {
                if (resId && prompt && !this.certcapturePromptOpen) {
                    this.certcaptureAsk();
                }
            },
            () => [this.model.root?.resId, this.model.root?.data.certcapture_prompt]
        );
    }

    certcaptureAsk() {
        const record = this.model.root;
        this.certcapturePromptOpen = true;
        const close = async (method) => {
            this.certcapturePromptOpen = false;
            const action = await this.orm.call("sale.order", method, [[record.resId]]);
            if (action && typeof action === "object") {
                await this.actionService.doAction(action, { onClose: () => record.load() });
            } else {
                await record.load();
            }
        };
        this.dialogService.add(ConfirmationDialog, {
            title: _t("Exemption certificate"),
            body: record.data.certcapture_prompt_message,
            confirmLabel: _t("Yes, send a request"),
            cancelLabel: _t("No"),
            confirm: () => close("action_certcapture_request_certificate"),
            cancel: () => close("action_certcapture_dismiss_prompt"),
        });
    }
}

export const certcaptureSaleOrderFormView = {
    ...formView,
    Controller: CertCaptureSaleOrderFormController,
};

registry.category("views").add("certcapture_sale_order_form", certcaptureSaleOrderFormView);
