"""The account refunds are paid from must be one a bank accepts: checked when the portal starts."""

from django.conf import settings
from django.core.checks import Error, register
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException


@register()
def payment_debtor(app_configs, **kwargs):
    errors = []
    try:
        IBAN(settings.PAYMENT_DEBTOR_IBAN)
    except SchwiftyException as error:
        errors.append(Error(f"PAYMENT_DEBTOR_IBAN is not a valid IBAN: {error}", id="instruction.E001"))
    try:
        BIC(settings.PAYMENT_DEBTOR_BIC)
    except SchwiftyException as error:
        errors.append(Error(f"PAYMENT_DEBTOR_BIC is not a valid BIC: {error}", id="instruction.E002"))
    if not settings.PAYMENT_DEBTOR_NAME.strip():
        errors.append(Error("PAYMENT_DEBTOR_NAME is empty.", id="instruction.E003"))
    return errors
