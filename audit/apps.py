from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Journal d'audit"

    def ready(self):
        from audit import receivers  # noqa: F401  (connects the signal receivers)
