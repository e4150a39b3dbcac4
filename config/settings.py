"""Settings: one module, every knob read from the environment.

The embedded defaults run the product on a laptop with nothing but Python
(SQLite, no Redis: Celery tasks run eagerly). Production hardening switches on
when DEBUG is off.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str(
    "SECRET_KEY",
    default="django-insecure-dev-only-3f9c1d0e8b7a6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b",
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Absolute base of the links we hand out (the hosted page `url`).
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

# Email (receipts and invoices to customers). EMAIL_URL: smtp://user:password@host:587 (or
# smtp+tls://…, smtp+ssl://…) in production; the default prints emails on the console (demo).
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Checkout <checkout@localhost>")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

INSTALLED_APPS = [
    # Django's admin on our site class (2FA for staff, the audit log; core/admin_site.py).
    "core.admin_apps.OpsAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "customers",
    "billing",
    "checkout",
    # Ops accountability (core/admin_site.py, README "Ops staff"): TOTP two-factor logins and
    # admin login throttling.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
]

MIDDLEWARE = [
    "core.metrics.RequestMetricsMiddleware",  # outermost: times everything below
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.TraceIdMiddleware",
    "core.middleware.ApiBodyLimitMiddleware",
    "core.middleware.DatabaseOutageMiddleware",
    "core.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "core.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): logged in with a TOTP code
    "core.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a login lockout into the lockout page
]

# --- Ops staff: two-factor logins and login throttling ------------------------------------------
# Staff must log in with a TOTP code (django-otp) when this is on; off (the demo), a user who has
# set up an authenticator still needs it, others log in with their password alone.
ADMIN_2FA_REQUIRED = env.bool("ADMIN_2FA_REQUIRED", default=not DEBUG)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Checkout ops")
# django-axes: ADMIN_LOGIN_FAILURE_LIMIT wrong passwords for one username from one address lock
# that pair out for ADMIN_LOGIN_LOCKOUT_MINUTES (other users and addresses are unaffected, so a
# typo-prone demo user never locks anyone else out; `manage.py axes_reset` lifts a lockout now).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env.bool("ADMIN_LOGIN_THROTTLING", default=True)
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("ADMIN_LOGIN_LOCKOUT_MINUTES", default=15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "core.admin_site.login_address"
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
AXES_VERBOSE = False

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    # The hosted pages (checkout/jinja2/checkout/): Jinja2, for render speed; see checkout/jinja.py.
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [],
        "APP_DIRS": True,  # each app's jinja2/ folder: only checkout has one
        "OPTIONS": {"environment": "checkout.jinja.environment"},
    },
    # Admin and everything else (templates/, the apps' templates/): Django's engine.
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Keep connections open between requests: a new connection per request made a
# thin endpoint 7x slower on our 2-core machines.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # core.db.prepared_cursor's statements (the create path's hand-written SQL) become server-side
    # prepared statements after this many runs on a connection: PostgreSQL then skips parsing
    # and planning them (~0.2 ms of database CPU each, measured). ORM queries use client-side
    # binding and are never prepared. DB_PREPARE_THRESHOLD=0 turns it off (for a connection
    # pooler in transaction mode, which cannot keep prepared statements).
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        env.int("DB_PREPARE_THRESHOLD", default=5) or None
    )
# A streaming replica for the reads that tolerate lag (the ops dashboard, the API's lists):
# core/dbrouter.py. Unset (the demo, the test suite): no second database, no router.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
DATABASE_ROUTERS: list[str] = []
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = {
        **env.db_url_config(DATABASE_REPLICA_URL),
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": True,
        "ATOMIC_REQUESTS": False,
        "TEST": {"MIRROR": "default"},
    }
    # A stopped replica must cost a request little: refused at once, or 2 s for a lost host.
    DATABASES["replica"].setdefault("OPTIONS", {}).update(
        connect_timeout=2, prepare_threshold=DATABASES["default"].get("OPTIONS", {}).get("prepare_threshold"))
    DATABASE_ROUTERS = ["core.dbrouter.PrimaryReplicaRouter"]
# The replica serves while its lag is at most this; each process checks every REPLICA_CHECK_SECONDS.
REPLICA_MAX_LAG_SECONDS = env.float("REPLICA_MAX_LAG_SECONDS", default=30.0)
REPLICA_CHECK_SECONDS = env.float("REPLICA_CHECK_SECONDS", default=5.0)
# After an API write, the merchant's list reads use the primary this long (read-your-writes).
REPLICA_STICKY_SECONDS = env.int("REPLICA_STICKY_SECONDS", default=10)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en-us")
# The hosted pages' languages (a session's ``locale``; catalogues in locale/, see scripts/i18n.sh).
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("fr", "Français"), ("es", "Español"), ("ja", "日本語")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Production serves hashed, compressed files (run `collectstatic` at deploy); tests and
# the demo serve them straight from the source folders.
STATIC_MANIFEST = env.bool("STATIC_MANIFEST", default=not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST

# --- Security ---------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
if not DEBUG:
    # Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER_ENABLED=true and,
    # if the proxy redirects itself, SECURE_SSL_REDIRECT=false.
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    if env.bool("SECURE_PROXY_SSL_HEADER_ENABLED", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- API --------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.LimitedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "checkout.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Checkout API",
    "DESCRIPTION": (
        "Hosted checkout sessions for subscription billing.\n\n"
        "**Payments.** Test-mode sessions use the built-in test provider (cards 4242 4242 4242 4242 "
        "succeeds, 4000 0000 0000 0002 is declined, 4000 0000 0000 0077 settles later). Card payments "
        "through Stripe (required for live mode) are configured per organization and mode by ops in "
        "admin (*Payment settings*: publishable key, secret key, webhook signing secret, stored "
        "encrypted); register the webhook URL admin shows, `{PUBLIC_BASE_URL}/stripe/webhooks/<settings "
        "id>`, in Stripe for `payment_intent.succeeded` and `payment_intent.payment_failed`. In Stripe "
        "mode the hosted page collects the card with Stripe.js and handles 3-D Secure; Stripe test "
        "cards: 4242 4242 4242 4242 succeeds, 4000 0025 0000 3155 asks for 3-D Secure, "
        "4000 0000 0000 0341 is declined. A session waiting on 3-D Secure or a settling payment is "
        "`processing` and never expires."
    ),
    "VERSION": "1.0.0",
    # 3.1: JSON Schema proper (propertyNames states metadata's key rules).
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served by us (whitenoise), not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Shows /checkout-sessions' GET (list) and POST (create) views as two operations.
    "DEFAULT_GENERATOR_CLASS": "checkout.api.schema.SchemaGenerator",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "checkout.api.schema.schema_complete",
    ],
    # The schema and docs are public; the operations they describe need a secret key.
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "SessionStatusEnum": "checkout.enums.SessionStatus",
        "PaymentStatusEnum": "checkout.enums.PaymentStatus",
        "CheckoutTypeEnum": "checkout.enums.CheckoutType",
        "CancellationReasonEnum": "checkout.enums.CancellationReason",
        "ContractStatusEnum": "billing.enums.ContractStatus",
        "InvoiceStatusEnum": "billing.enums.InvoiceStatus",
        "PaymentAttemptStatusEnum": "billing.enums.PaymentAttemptStatus",
        "RefundReasonEnum": "billing.enums.RefundReason",
        "RefundRequestReasonEnum": "billing.api.serializers.API_REFUND_REASONS",
        "PaymentMethodStatusEnum": "billing.enums.SavedPaymentMethodStatus",
        "TestClockStatusEnum": "billing.enums.TestClockStatus",
    },
}
# The largest merchant API request body accepted (bytes); larger ones answer 413 unread.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)
# Failed API-key authentications per client address per window before the address is
# answered 429 for the rest of the window (0 disables). TRUSTED_PROXY_COUNT: how many proxies
# in front append to X-Forwarded-For (0: the client address is REMOTE_ADDR).
API_AUTH_FAILURE_LIMIT = env.int("API_AUTH_FAILURE_LIMIT", default=100)
API_AUTH_FAILURE_WINDOW_SECONDS = env.int("API_AUTH_FAILURE_WINDOW_SECONDS", default=300)
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Payment providers. PAYMENT_SECRETS_KEY: a Fernet key (base64, 32 bytes) encrypting provider
# secrets at rest; empty = derived from SECRET_KEY. STRIPE_API_BASE / STRIPE_JS_URL: where the
# Stripe API and Stripe.js are (empty = Stripe's own; tests point them at localstripe).
PAYMENT_SECRETS_KEY = env.str("PAYMENT_SECRETS_KEY", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
STRIPE_JS_URL = env.str("STRIPE_JS_URL", default="https://js.stripe.com/v3/")
# EU VAT numbers are checked offline (format, check digits). VIES_CHECK_ENABLED also asks VIES
# (the EU's registry, billing/vies.py) before reverse charge applies; off by default, since it
# needs the internet. VIES_URL: its REST endpoint (tests point it at a local stand-in).
VIES_CHECK_ENABLED = env.bool("VIES_CHECK_ENABLED", default=False)
VIES_URL = env.str("VIES_URL", default="https://ec.europa.eu/taxation_customs/vies/rest-api/check-vat-number")
# Create requests per API key per minute (0 disables the limit).
CHECKOUT_CREATE_RATE_LIMIT = env.int("CHECKOUT_CREATE_RATE_LIMIT", default=600)
CHECKOUT_SESSION_DEFAULT_TTL_HOURS = 24
CHECKOUT_SESSION_MAX_TTL_DAYS = 30
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=48)
# Retention of the tables that grow without bound (checkout/services/retention.py, run hourly
# by beat; `manage.py retention --dry-run` shows what would go). 0 keeps rows for ever.
# Idempotency records follow IDEMPOTENCY_KEY_TTL_HOURS above; checkout sessions are kept.
# Finished deliveries (and their attempts) after this many days; pending ones never.
RETENTION_DELIVERIES_DAYS = env.int("RETENTION_DELIVERIES_DAYS", default=90)
# Events after this many days (at least 30, the events API's promise), once dispatched, with
# no delivery left and not the last of their session or object.
RETENTION_EVENTS_DAYS = env.int("RETENTION_EVENTS_DAYS", default=30)
# Webhooks go to public addresses only (core/outbound.py): not loopback, private networks or
# the cloud metadata service. The embedded demo (DEBUG) allows them, for a receiver on
# localhost; so does a deployment whose egress proxy does its own filtering.
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", default=DEBUG)

# --- Metrics ----------------------------------------------------------------
# GET /metrics (Prometheus) answers only `Authorization: Bearer <METRICS_TOKEN>`; empty = no
# endpoint (404). Gunicorn workers share their metrics through PROMETHEUS_MULTIPROC_DIR
# (config/gunicorn.py); see docs/ops.md.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Prometheus scrapes each instance over plain HTTP on the private network: /metrics is not
# redirected to HTTPS (the token still travels in clear there; scrape through TLS otherwise).
SECURE_REDIRECT_EXEMPT = [r"^metrics$"]

# --- Cache ------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Celery -----------------------------------------------------------------
# Without REDIS_URL tasks run in-process (eager), so the product runs with
# nothing but Python; expiry is also enforced whenever a session is read, the sweep
# runs by hand (`manage.py expire_sessions`) and webhooks go out with
# `manage.py send_webhooks`. Every name below must be one Celery knows
# (tests/checkout/background/test_celery_config.py): a misspelt one is silently ignored.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://localhost/")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
# Off in the demo (`make run`): a settle-later card leaves the session processing until
# `manage.py settle_payments` or the admin action settles it.
PAYMENTS_AUTO_SETTLE = env.bool("PAYMENTS_AUTO_SETTLE", default=True)
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# Our tasks are idempotent, so a task whose worker dies mid-run is redelivered
# rather than lost.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker outlives a Redis outage of any length: it retries the broker for ever (Celery's
# default gives up after 100 tries and the worker exits), and the unacked tasks it held are
# redelivered (acks_late). Under systemd (deploy/) a worker that exits anyway is restarted.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Celery's consumer, minus a crash when Redis goes away with tasks in hand (config/celery.py).
CELERY_WORKER_CONSUMER = "config.celery:BrokerOutageConsumer"
# A request that queues work must not hang when Redis is down: fail fast, the
# periodic outbox task picks the work up once Redis is back.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 2,
    "socket_timeout": 10,
    # Notice a dead broker connection (Redis restarted, a failover) within seconds.
    "socket_keepalive": True,
    "health_check_interval": 10,
    # Longer than any countdown we queue (webhook retries beyond 10 minutes wait in
    # the database for the retry sweep), so acks_late never redelivers early.
    "visibility_timeout": 3600,
}
CELERY_TIMEZONE = "UTC"
# Beat safe when started twice (core/beat.py): only the holder of a PostgreSQL advisory lock,
# taken on a direct connection to the primary (not through PgBouncer), sends; a standby checks
# every BEAT_STANDBY_SECONDS and takes over when the holder dies.
CELERY_BEAT_SCHEDULER = "core.beat:LockedScheduler"
BEAT_LOCK_DATABASE_URL = env.str("BEAT_LOCK_DATABASE_URL", default="")
BEAT_STANDBY_SECONDS = env.float("BEAT_STANDBY_SECONDS", default=5.0)
# Multiplies every interval below: the topology test runs the sweeps ten times as often (0.1).
BEAT_INTERVAL_SCALE = env.float("BEAT_INTERVAL_SCALE", default=1.0)
CELERY_BEAT_SCHEDULE_FILENAME = env.str(
    "CELERY_BEAT_SCHEDULE_FILENAME", default=str(BASE_DIR / "celerybeat-schedule")
)
# Each entry expires before its next run so a stopped worker does not come back
# to a backlog of identical sweeps.
CELERY_BEAT_SCHEDULE: dict = {
    "expire-due-sessions": {
        "task": "checkout.sessions_expire_due",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "dispatch-pending-events": {
        "task": "checkout.events_dispatch_pending",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    "retry-due-webhook-deliveries": {
        "task": "checkout.webhook_deliveries_retry_due",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    "settle-stuck-payments": {
        "task": "checkout.payments_settle_pending",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "send-pending-receipts": {
        "task": "checkout.receipts_send_pending",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "send-pending-invoice-emails": {
        "task": "checkout.invoice_emails_send_pending",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Retention of idempotency records, webhook deliveries and events (includes the purge of
    # idempotency keys older than IDEMPOTENCY_KEY_TTL_HOURS). Each run deletes for at most 60 s
    # (~5,000 rows/s measured, docs/benchmarks.md): every 10 minutes keeps up with ~1.8 M new
    # rows an hour; a run with nothing to delete is three index probes.
    "apply-retention": {
        "task": "checkout.retention_apply",
        "schedule": 600.0,
        "options": {"expires": 550},
    },
    # Renewals: issue what is due, charge what is due (first tries and retries), and send again
    # the charges whose answer was lost.
    "renew-due-contracts": {
        "task": "billing.contracts_renew_due",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "collect-due-invoices": {
        "task": "billing.invoices_collect_due",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "reconcile-pending-invoice-payments": {
        "task": "billing.payments_reconcile_pending",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "reconcile-pending-refunds": {
        "task": "billing.refunds_reconcile_pending",
        "schedule": 300.0,
        "options": {"expires": 280},
    },
    "detach-payment-methods-at-provider": {
        "task": "billing.saved_payment_methods_provider_detach_due",
        "schedule": 300.0,
        "options": {"expires": 280},
    },
}

if BEAT_INTERVAL_SCALE != 1.0:
    for _entry in CELERY_BEAT_SCHEDULE.values():
        _entry["schedule"] *= BEAT_INTERVAL_SCALE
        _entry["options"]["expires"] *= BEAT_INTERVAL_SCALE

# --- Logging ----------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "trace_id": {"()": "core.logging.TraceIdFilter"},
        "redact_tokens": {"()": "core.logging.RedactTokensFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s trace_id=%(trace_id)s %(message)s"}
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["trace_id", "redact_tokens"]}
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # runserver's request lines: through our handler, so page tokens are redacted there too.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
