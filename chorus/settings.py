"""Settings for the Chorus Pro TIC/TICGN registration portal.

Everything that differs between a laptop and production comes from the
environment (see `.env.example`). Development defaults are safe; production
secrets are required as soon as DEBUG is off.
"""

import shutil
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable "
            "(a long random string) or run with DEBUG=true for development."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-used-in-production"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "chorus.sites.PortalAdminConfig",  # django.contrib.admin, on the portal's admin site
    # accounts before django.contrib.auth: its createsuperuser (in French) is the one manage.py runs.
    "accounts",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "dsfr",
    "crispy_forms",
    "widget_tweaks",
    "captcha",
    "axes",
    "post_office",
    "simple_history",
    "django_countries",
    "django_otp",
    "django_otp.plugins.otp_email",
    "django_otp.plugins.otp_totp",
    "django_otp_webauthn",
    "chorus",
    "sirene",
    "structures",
    "approvals",
    "audit",
    "twofactor",
    "refunds",
    "instruction",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "chorus.middleware.HeaderControlCharactersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Whether the session passed a second factor (`user.is_verified()`); until it has, every page but the
    # second step sends there.
    "django_otp.middleware.OTPMiddleware",
    "twofactor.middleware.SecondFactorRequired",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "audit.log.AuditMiddleware",
    "chorus.middleware.PrivatePagesMiddleware",
    # Last, as django-axes asks: it turns lockouts into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "chorus.urls"
WSGI_APPLICATION = "chorus.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "portal.context_processors.pending_approvals",
            ],
        },
    },
]
# Project templates (DSFR field snippets overridden in templates/) win over
# the widgets' own templates; plain inputs skip Django's one-line include and long selects
# (the country list) are drawn once (chorus/forms.py).
FORM_RENDERER = "chorus.forms.FormRenderer"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"),
}
# Seconds a worker keeps its database connection (bin/serve: 60). Opening one costs a
# PostgreSQL backend per request; gunicorn's sync workers hold one connection each.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # `make run`'s embedded database, which runserver's threads write at once. WAL: readers go on
    # while one connection writes. IMMEDIATE: a transaction takes the write lock as it begins, so
    # it waits for its turn there; a deferred one that read first is refused at once (« database
    # is locked ») when it comes to write after another writer. A writer waits up to 20 s.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        **DATABASES["default"].get("OPTIONS", {}),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if DEBUG:
    _default_cache = "locmemcache://"
else:
    _default_cache = env.str("CACHE_URL", default="")
    if not _default_cache:
        raise ImproperlyConfigured(
            "CACHE_URL is not set. Production needs a cache shared by every worker "
            "(throttling, lockouts, sessions), e.g. CACHE_URL=redis://127.0.0.1:6379/1."
        )
CACHES = {"default": env.cache_url("CACHE_URL", default=_default_cache)}

# Accounts -----------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

AUTHENTICATION_BACKENDS = [
    # django-axes refuses locked-out sign-ins before any password is hashed.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

PASSWORD_HASHERS = [
    "accounts.hashers.PortalArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "accounts.validators.MaximumLengthValidator", "OPTIONS": {"max_length": 128}},
    {"NAME": "accounts.validators.CharacterClassesValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ["email", "first_name", "last_name", "contact_email"]},
    },
    {"NAME": "accounts.validators.PersonalDataValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "accounts.validators.PolicyBlocklistValidator"},
]

# Activation and reset links are valid 60 minutes (memento, step 2).
PASSWORD_RESET_TIMEOUT = 60 * 60
TERMS_VERSION = "2026-11"

# django-axes: failed sign-ins and password confirmations, counted in the database so that every
# worker process shares them; staff lift an account's lockout in the admin. Per account, wherever
# the failures come from, and a success clears that account's count alone. Per IP, failures only,
# never cleared by a success, with a limit that an office of accountants behind one address lives
# with: `accounts.throttling.LockoutHandler` counts it apart from axes' parameters (why, there).
AXES_HANDLER = "accounts.throttling.LockoutHandler"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
LOCKOUT_IP_FAILURE_LIMIT = env.int("LOCKOUT_IP_FAILURE_LIMIT", default=50)
AXES_COOLOFF_TIME = 0.25  # hours: 15 minutes, for both
AXES_LOCKOUT_PARAMETERS = ["username"]
# axes.W006 asks for the IP among the parameters: it is counted by the handler instead, which a success
# does not clear, from the failure log (one row per failure).
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "accounts.throttling.login_identity"
AXES_CLIENT_IP_CALLABLE = "chorus.throttling.client_ip"
# A right password is half a sign-in: the failures are cleared once the second factor passes too
# (twofactor.workflows.verify), so that wrong codes and wrong passwords count together.
AXES_RESET_ON_SUCCESS = False
# A password typed while locked is not checked: it is not counted either, nor does it prolong the lockout.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# The lockout page says what is locked, until when, and offers the reset link.
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
AXES_VERBOSE = False
# Successful sign-ins are in the audit trail (audit.receivers); axes keeps the failures only.
AXES_DISABLE_ACCESS_LOG = True

# How many reverse proxies (load balancer, …) stand in front of the portal and
# append the client's address to X-Forwarded-For; 0 when gunicorn faces clients.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Sign-up, resend-activation and reset: attempts per IP and per hour;
# « Demander un rattachement »: SIRET look-ups per account, and per IP (an office of a
# management centre shares one), per hour.
THROTTLE_RATES = {
    "signup": env.int("THROTTLE_SIGNUP_PER_HOUR", default=20),
    "resend": env.int("THROTTLE_RESEND_PER_HOUR", default=10),
    "reset": env.int("THROTTLE_RESET_PER_HOUR", default=10),
    "attachment": env.int("THROTTLE_ATTACHMENT_PER_HOUR", default=10),
    "attachment_ip": env.int("THROTTLE_ATTACHMENT_PER_IP_PER_HOUR", default=100),
    # The captcha's audio version, per IP: each one starts a speech synthesis process.
    "captcha_audio": env.int("THROTTLE_CAPTCHA_AUDIO_PER_HOUR", default=30),
    # « Changer l'e-mail du contact », per account: each request mails a link to an address of the user's choice.
    "address_change": env.int("THROTTLE_ADDRESS_CHANGE_PER_HOUR", default=5),
    "second_factor_code": env.int("THROTTLE_SECOND_FACTOR_CODE_PER_HOUR", default=10),
}

# Database sessions that write a new key's row once, not twice, when signing in changes it (`accounts.sessions`).
SESSION_ENGINE = "accounts.sessions"
SESSION_COOKIE_AGE = 60 * 60 * 8
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Bank details ask for the password again unless it was typed this recently.
REAUTHENTICATION_MAX_AGE = 60 * 10
# Where `chorus.reauth` sends a user to type the password again, named as LOGIN_URL is.
REAUTHENTICATION_URL = "accounts:confirm_password"
# Where the admin's « Modifier le mot de passe » leads: the portal's own page, counted by the lockout.
PASSWORD_CHANGE_URL = "accounts:password_change"

# Second factor (PRODUCT §8; django-otp, django-otp-webauthn). The code by e-mail: 6 digits, 10 minutes,
# once, a newer one voids it, at most one a minute (THROTTLE_SECOND_FACTOR_CODE_PER_HOUR beyond).
OTP_EMAIL_TOKEN_VALIDITY = 600
OTP_EMAIL_COOLDOWN_DURATION = 60
OTP_EMAIL_THROTTLE_FACTOR = 1
OTP_TOTP_ISSUER = "Chorus Pro TIC/TICGN"
# The admin opens to staff verified by one of these (an application, a key, a recovery code), never the
# e-mail code; named here so that the admin site (chorus) needs no import of the app above it.
ADMIN_SECOND_FACTOR_CHECK = "twofactor.devices.opens_admin"
# Security keys and passkeys (twofactor/webauthn.py), bound to the portal's own address; a key is a second
# factor, never a sign-in alone. Their scope (RP ID) is a domain name, never an IP address: with `make run`'s
# http://127.0.0.1:8000, keys work at http://localhost:8000, and the page says so at the other address.
_site = urlsplit(SITE_URL)
OTP_WEBAUTHN_RP_ID = "localhost" if _site.hostname in ("127.0.0.1", "::1") else _site.hostname
OTP_WEBAUTHN_RP_NAME = "Chorus Pro TIC/TICGN"
OTP_WEBAUTHN_ALLOWED_ORIGINS = [f"{_site.scheme}://{OTP_WEBAUTHN_RP_ID}" + (f":{_site.port}" if _site.port else "")]
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
if not SITE_URL.startswith("https://"):
    SILENCED_SYSTEM_CHECKS.append("otp_webauthn.E031")  # development on http://localhost: browsers allow it
CSRF_COOKIE_HTTPONLY = True

# Mail ---------------------------------------------------------------------

DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Chorus Pro TIC/TICGN <ne-pas-repondre@chorus-tic.example.fr>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
_email = env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25")
MAILERS = {
    "default": {
        "BACKEND": _email["EMAIL_BACKEND"],
        "OPTIONS": {
            key.removeprefix("EMAIL_").lower(): value
            for key, value in _email.items()
            if key
            in {"EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD", "EMAIL_USE_TLS", "EMAIL_USE_SSL"}
            and value not in (None, "")
        },
    },
}
if _email["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend":
    MAILERS["default"]["BACKEND"] = "chorus.mail.ReadableConsoleBackend"
if _email["EMAIL_BACKEND"].endswith("smtp.EmailBackend"):
    MAILERS["default"]["OPTIONS"]["timeout"] = 10
# Every mail is stored by django-post-office in the transaction of the step
# that sends it. In development it is sent as soon as that transaction
# commits (MAIL_SEND_ON_COMMIT). In production the worker
# (`manage.py mail_worker`) sends it: no request waits on SMTP, and response
# times do not tell how many mails a step sent (which would tell whether an
# address is registered).
MAIL_SEND_ON_COMMIT = env.bool("MAIL_SEND_ON_COMMIT", default=DEBUG)
POST_OFFICE = {
    "DEFAULT_PRIORITY": "medium",
    # A day of SMTP outage loses nothing: 144 retries, 10 minutes apart.
    "MAX_RETRIES": 144,
    "RETRY_INTERVAL": timedelta(minutes=10),
    "LOG_LEVEL": 2,
    "MESSAGE_ID_ENABLED": True,
    "CELERY_ENABLED": False,
    # The mail worker (chorus.mail.deliver_queued) sends up to 100 mails a pass, one after
    # the other, each marked sent as soon as it has left.
    "BATCH_SIZE": 100,
}

# Captcha ------------------------------------------------------------------

CAPTCHA_LENGTH = 5
CAPTCHA_TIMEOUT = 10
CAPTCHA_IMAGE_SIZE = (150, 50)
CAPTCHA_FONT_SIZE = 32
CAPTCHA_LETTER_ROTATION = (-25, 25)
# Letters that read alike (O/0, I/1) are left out of the challenge.
CAPTCHA_CHALLENGE_FUNCT = "accounts.captcha.challenge"
# django-simple-captcha calls `CAPTCHA_FLITE_PATH -t TEXT -o FILE`; bin/speak-fr
# answers that call with espeak-ng's French voice. Without espeak-ng (looked for
# once, at start-up) no audio version is offered and the captcha says so
# (templates/captcha), rather than showing a player that answers nothing;
# `make run` says how to install it.
_speaker = BASE_DIR / "bin" / "speak-fr"
CAPTCHA_FLITE_PATH = env.str("CAPTCHA_FLITE_PATH", default=str(_speaker) if shutil.which("espeak-ng") else "") or None
CAPTCHA_SOX_PATH = None

# Files, static, i18n --------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
# Private: no URL serves MEDIA_ROOT (this prefix is routed nowhere); files
# leave only through views that check who asks.
MEDIA_URL = "/fichiers-prives/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # RIB files, in a folder of their own under MEDIA_ROOT; they leave only
    # through structures.views.rib_download. A multi-host deployment points
    # this at a private S3-compatible bucket (django-storages).
    "ribs": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT / "rib"},
    },
    # Refund invoices, beside the RIBs: they leave only through refunds.views.invoice_download.
    "invoices": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT / "invoices"},
    },
    # SEPA transfer files: they leave only through instruction.views.batch_download.
    "payments": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT / "payments"},
    },
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LANGUAGE_CODE = "fr"
TIME_ZONE = "Europe/Paris"
USE_I18N = True
# French for the admin labels of third-party apps that ship none (django-post-office).
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

CRISPY_ALLOWED_TEMPLATE_PACKS = ["dsfr_crispy"]
CRISPY_TEMPLATE_PACK = "dsfr_crispy"

# The most fields one form may post: « Paiements » ticks up to 200 requests (PAYABLE_SHOWN), with its token.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 250
# Uploaded documents (chorus.uploads): a RIB, later refund invoices.
UPLOAD_MAX_SIZE = 5 * 1024 * 1024
# An image is decoded within 1 s and 100 MB (50 MB, 97 MB when it must be turned upright): a 12-megapixel
# phone photo (4032 × 3024) and an A4 page scanned at 350 dpi pass.
UPLOAD_MAX_PIXELS = 12_500_000
# The most lines a refund request holds, those imported from a CSV file (refunds.csv_import) included.
REFUND_IMPORT_MAX_LINES = env.int("REFUND_IMPORT_MAX_LINES", default=500)
# The account the refunds are paid from: the debtor of every SEPA transfer file (instruction.sepa). With DEBUG
# on, the defaults are the Banque de France's published example account; production must name its own (a file
# paying from the example account is not one to send a bank), and a system check refuses an IBAN or BIC that is
# not valid.
PAYMENT_DEBTOR_NAME = env.str(
    "PAYMENT_DEBTOR_NAME", default="DGFIP - Remboursement TIC TICGN agricole" if DEBUG else ""
)
PAYMENT_DEBTOR_IBAN = env.str("PAYMENT_DEBTOR_IBAN", default="FR7630001007941234567890185" if DEBUG else "")
PAYMENT_DEBTOR_BIC = env.str("PAYMENT_DEBTOR_BIC", default="BDFEFRPPCCT" if DEBUG else "")
for _name, _value in [
    ("PAYMENT_DEBTOR_NAME", PAYMENT_DEBTOR_NAME),
    ("PAYMENT_DEBTOR_IBAN", PAYMENT_DEBTOR_IBAN),
    ("PAYMENT_DEBTOR_BIC", PAYMENT_DEBTOR_BIC),
]:
    if not DEBUG and not _value.strip():
        raise ImproperlyConfigured(
            f"{_name} is not set. Production pays the refunds from its own account: set PAYMENT_DEBTOR_NAME, "
            "PAYMENT_DEBTOR_IBAN and PAYMENT_DEBTOR_BIC, or run with DEBUG=true for the example account."
        )
COUNTRIES_FIRST = ["FR"]
# django-countries' French names, corrected: Guyana (GY) read « Guyane », the name of the French
# département, listed again as « Guyane française » (GF). The five overseas départements are France:
# an address there is French (postal code 97x), so they are not offered as countries.
COUNTRIES_OVERRIDE = {
    "GY": "Guyana",
    "MH": "Îles Marshall",
    "GF": None,
    "GP": None,
    "MQ": None,
    "RE": None,
    "YT": None,
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# Security headers ---------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "media-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # pikepdf says at start-up that its C++ logging is bridged: worth nothing in the portal's log.
    "loggers": {"axes": {"level": "WARNING"}, "post_office": {"level": "WARNING"}, "pikepdf": {"level": "WARNING"}},
}
