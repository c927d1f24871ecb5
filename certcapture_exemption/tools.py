"""Small helpers shared by the add-on's models."""

from odoo.tools import email_normalize
from odoo.tools.mail import single_email_re


def normalize_email(value):
    """The bare address of ``value`` ("Bob <ap@x.com>" -> "ap@x.com"), or
    False when it is not one valid address ("billing@@bad", "a@b", two
    addresses): Odoo's email_normalize alone accepts "billing@@bad"."""
    normalized = email_normalize(value or "")
    return normalized if normalized and single_email_re.match(normalized) else False
