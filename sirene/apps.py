from django.apps import AppConfig


class SireneConfig(AppConfig):
    name = "sirene"
    verbose_name = "Répertoire SIRENE"
    default_auto_field = "django.db.models.BigAutoField"
