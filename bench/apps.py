from django.apps import AppConfig


class BenchConfig(AppConfig):
    """The benchmark as an app, for its `seed_scale` command and templates.

    Only bench/settings.py and the test settings install it: the portal never does.
    """

    name = "bench"
    verbose_name = "Banc d'essai"
