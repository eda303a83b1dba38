from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SessionsAppConfig(AppConfig):
    name = "sessions_app"
    verbose_name = _("Places, vaccines and sessions")

    def ready(self):
        # Here, not in the URLconf: Celery workers record doses too and must invalidate
        # the public API's cache (sessions_app/public/cache.py).
        from sessions_app.public import cache as public_cache

        public_cache.connect()
