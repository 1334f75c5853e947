"""No admin pages of their own for second-factor devices.

django-otp registers its devices with the admin, where staff could read an application's secret key,
add a device to someone else's account or delete theirs. Support sees a user's devices read-only on
the account's page, and resets them through « Réinitialiser la double authentification », which mails
the user and is audited.
"""

from django.contrib import admin
from django_otp.plugins.otp_email.models import EmailDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

for model in (EmailDevice, TOTPDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
