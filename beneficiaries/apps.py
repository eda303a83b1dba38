from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BeneficiariesConfig(AppConfig):
    name = "beneficiaries"
    verbose_name = _("Beneficiaries and uploads")

    def ready(self) -> None:
        # Celery's autodiscovery only imports `tasks.py`; register the duplicate scan too.
        # The web process's first request resumes uploads on the embedded default.
        from beneficiaries import (
            tasks,  # noqa: F401
            tasks_duplicates,  # noqa: F401
        )
