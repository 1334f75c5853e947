"""The portal's settings with development defaults, for the test suite.

Django's test runner turns DEBUG off at run time; the environment still
chooses the database (DATABASE_URL), so CI runs the suite on SQLite and on
PostgreSQL.
"""

import os

os.environ.setdefault("DEBUG", "true")

from chorus.settings import *  # noqa: F403
from chorus.settings import INSTALLED_APPS

# Throttling and axes get their own tests; keep them out of the others' way.
THROTTLE_RATES = {
    "signup": 1000,
    "resend": 1000,
    "reset": 1000,
    "attachment": 1000,
    "attachment_ip": 1000,
    "captcha_audio": 1000,
    "address_change": 1000,
    "second_factor_code": 1000,
}

# The files a local `collectstatic` or `make serve` left in var/static are not the suite's: it
# serves static files from the apps (as on a fresh clone), and WhiteNoise has nothing to scan.
STATIC_ROOT = BASE_DIR / "var" / "test-static"  # noqa: F405

# The benchmark's app, for its `seed_scale` command and baseline page (tests/bench/); the portal never installs it.
INSTALLED_APPS = [*INSTALLED_APPS, "bench"]
