from django.apps import AppConfig


class InstructionConfig(AppConfig):
    name = "instruction"
    verbose_name = "Instruction des remboursements"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from instruction import checks, receivers  # noqa: F401  (the payment account's check; refunds' signals)
