"""The peer's settings: django-allauth's account app as its documentation sets it up, with e-mail login.

What could make one side cheaper than the other is the portal's: the same Django, PostgreSQL with connections
kept a minute, a Redis cache, sessions in the database, French, DEBUG off, the portal's Argon2 parameters, and
the benchmark's `Server-Timing` header. The rest is allauth's own: its forms, views and default templates.
bench/peer.py sets the environment (DATABASE_URL, CACHE_URL, SECRET_KEY); the defaults serve `manage.py check`.
"""

from pathlib import Path

import environ

HERE = Path(__file__).resolve().parent

env = environ.Env()

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY", default="bench-peer-only-never-served-beyond-the-loopback")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
]

MIDDLEWARE = [
    "bench.middleware.ServerTiming",  # as bench/settings.py puts it in front of the portal's
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "bench.allauth_peer.urls"
WSGI_APPLICATION = "bench.allauth_peer.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [HERE / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default="sqlite:///:memory:")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)  # as bin/serve sets the portal's
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
# The portal's parameters (m=19 MiB, t=2, p=1), so that a password costs the same on both sides.
PASSWORD_HASHERS = ["accounts.hashers.PortalArgon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"  # the portal activates an account from a mailed link too
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGIN_REDIRECT_URL = "/"

SESSION_COOKIE_AGE = 60 * 60 * 8
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_SAMESITE = "Lax"

STATIC_URL = "/static/"
LANGUAGE_CODE = "fr"
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
