import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()

from core.wsgi import BodyReader  # noqa: E402  (needs the settings configured above)

application = BodyReader(django_application)
