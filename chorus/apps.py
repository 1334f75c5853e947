from django.apps import AppConfig


class ChorusConfig(AppConfig):
    name = "chorus"
    verbose_name = "Socle commun"

    def ready(self):
        from chorus import mail  # noqa: F401  (connects the hooks that run steps after the response)
