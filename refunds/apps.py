from django.apps import AppConfig


class RefundsConfig(AppConfig):
    name = "refunds"
    verbose_name = "Remboursement de taxes"
    default_auto_field = "django.db.models.BigAutoField"
