"""The Celery app. Configuration lives in settings under the CELERY_ namespace."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "covax.settings")

app = Celery("covax")
app.config_from_object("django.conf:settings", namespace="CELERY")
# A queue of their own for the benchmarks and tests that start real workers, so that
# a developer's worker on the same Redis never takes (or is given) their tasks.
if queue := os.environ.get("COVAX_CELERY_QUEUE"):
    app.conf.task_default_queue = queue
app.autodiscover_tasks()
