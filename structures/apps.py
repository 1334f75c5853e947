from django.apps import AppConfig


class StructuresConfig(AppConfig):
    name = "structures"
    verbose_name = "Structures"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from structures import receivers  # noqa: F401  (connects them)
