"""WSGI entry point, served by gunicorn in production."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlsd_site.settings")

application = get_wsgi_application()

# The URLconf, its views and the templates, loaded now rather than by each worker's first
# requests: gunicorn's master (preload_app) shares them with the workers it forks.
from mlsd_site.warmup import warm_up  # noqa: E402 (needs the app loaded above)

warm_up()
