"""Settings of the Celery worker process ``test_celery_worker.py`` starts: the
test settings, with the test's fake OpenAI as the platform's openai provider
and the test process's blob folder (both given in the environment)."""

import os
from pathlib import Path

from config.settings_test import *  # noqa: F403
from config.settings_test import PROVIDER_CREDENTIALS, STORAGES

PROVIDER_CREDENTIALS = {
    **PROVIDER_CREDENTIALS,
    "openai": {
        "api_key": os.environ["JUNCTION_WORKER_OPENAI_KEY"],
        "base_url": os.environ["JUNCTION_WORKER_OPENAI_URL"],
    },
}
FILES_ROOT = Path(os.environ["JUNCTION_WORKER_FILES_ROOT"])
FILES_TMP_DIR = FILES_ROOT / "tmp"
STORAGES = {**STORAGES, "files": {**STORAGES["files"], "OPTIONS": {"location": str(FILES_ROOT / "blobs")}}}
