"""The provider fakes (and billing helpers) the images tests use. Image jobs
run in the server process unless a test starts a Celery worker
(``test_celery_worker.py``): with ``REDIS_URL`` set Celery is not eager."""

import pytest

from tests.billing.conftest import unfunded_workspace  # noqa: F401
from tests.gateway.conftest import fake_gemini, fake_gemini_server  # noqa: F401


@pytest.fixture(autouse=True)
def _jobs_in_process(settings) -> None:
    settings.IMAGES_JOBS_IN_PROCESS = True
