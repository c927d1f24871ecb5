"""Client actions that answer a button: toasts and reloads.

Kept apart from the CertCapture seam: they are about the web client, not
about talking to CertCapture, and any model's button may return one."""


def display_notification(title, message, kind="success", next_action=None, sticky=None):
    """A toast; warnings and failures stay until the user closes them (and
    any toast with ``sticky``: one carrying a link to copy, say)."""
    sticky = kind != "success" if sticky is None else sticky
    params = {"title": title, "message": message, "type": kind, "sticky": sticky}
    if next_action:
        params["next"] = next_action
    return {"type": "ir.actions.client", "tag": "display_notification", "params": params}


def soft_reload():
    """Reload the current view (its record) after the toast."""
    return {"type": "ir.actions.client", "tag": "soft_reload"}
