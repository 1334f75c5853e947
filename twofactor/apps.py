from django.apps import AppConfig


class TwofactorConfig(AppConfig):
    name = "twofactor"
    verbose_name = "double authentification"
    default_auto_field = "django.db.models.BigAutoField"
