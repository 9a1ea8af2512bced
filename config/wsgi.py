import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

django_application = get_wsgi_application()

# Imported once Django is set up: it reads the settings.
from core.wsgi import sized_chunked_bodies  # noqa: E402

application = sized_chunked_bodies(django_application)
