"""The benchmark's settings: production's (`chorus.settings`, DEBUG off), with three differences.

- It serves plain HTTP on the loopback: no https redirect, no Secure-only cookies.
- Virtual users pass the captcha by answering « PASSED » (django-simple-captcha's test mode).
- Each response carries a `Server-Timing` header (time in Django, time and count of SQL
  queries), and `/banc-d-essai/` renders the bare baseline page.

Mails go to files (`BENCH_MAIL_DIR`), where virtual users find their activation links.
The `bench` app is installed (here and in the test settings, never in production): its
`manage.py seed_scale` fills the database.
The rest (database, cache, workers, hashing, throttling levels) comes from the
environment, as in production: see bench/run.py.
"""

import os

from chorus.settings import *  # noqa: F403
from chorus.settings import INSTALLED_APPS, MIDDLEWARE

SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False

CAPTCHA_TEST_MODE = True

# Its own collected static files: a test run in the same checkout reads var/static meanwhile.
STATIC_ROOT = BASE_DIR / "var" / "bench" / "static"  # noqa: F405

# The bench app: `manage.py seed_scale` and the baseline page's template.
INSTALLED_APPS = [*INSTALLED_APPS, "bench"]
MIDDLEWARE = ["bench.middleware.ServerTiming", *MIDDLEWARE]
ROOT_URLCONF = "bench.urls"

MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "OPTIONS": {"file_path": os.environ.get("BENCH_MAIL_DIR", str(BASE_DIR / "var" / "bench" / "mail"))},  # noqa: F405
    }
}
