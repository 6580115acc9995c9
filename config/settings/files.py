"""Files: blob storage (local disk or S3), upload limits, signed links, files sent to upstreams,
the images API's jobs."""

from pathlib import Path
from typing import Any

from config.settings.core import DATA_DIR, SECRET_KEY, STORAGES
from config.settings.environment import env, env_bool, env_float, env_int
from config.settings.services import CELERY_TASK_ALWAYS_EAGER

# Uploaded files (files/): blobs on the local disk under FILES_ROOT, or in an
# S3-compatible bucket when S3_BUCKET is set (AWS S3, MinIO, R2). S3
# credentials come from the environment (AWS_ACCESS_KEY_ID /
# AWS_SECRET_ACCESS_KEY, or boto3's usual chain: a profile, an instance role).
FILES_ROOT = Path(env("FILES_ROOT", str(DATA_DIR / "files")))
# Uploads are streamed here before they move to storage (same disk as
# FILES_ROOT, so the local backend moves them with a rename).
FILES_TMP_DIR = Path(env("FILES_TMP_DIR", str(DATA_DIR / "tmp")))
# Largest file accepted by POST /v1/files (bytes); larger -> 413. Bodies are
# also capped by JUNCTION_MAX_BODY_BYTES.
FILES_MAX_BYTES = env_int("FILES_MAX_BYTES", 25 * 1024 * 1024)
# Most file content (inline + by id + by URL) one model request may carry.
FILES_REQUEST_MAX_BYTES = env_int("FILES_REQUEST_MAX_BYTES", 50 * 1024 * 1024)
# Files with purpose=batch expire after this long unless expires_after says otherwise.
FILES_BATCH_EXPIRES_SECONDS = env_int("FILES_BATCH_EXPIRES_SECONDS", 30 * 24 * 3600)
# Signed blob URLs: lifetime (s), the HMAC key (default SECRET_KEY), and the
# public origin used to build them outside a request (empty: the request's).
FILES_URL_TTL = env_int("FILES_URL_TTL", 3600)
FILES_SIGNING_KEY = env("FILES_SIGNING_KEY", SECRET_KEY)
# Files sent to upstreams by reference (files/upstream.py, docs/files.md):
# OpenAI gets documents of at least FILES_UPSTREAM_MIN_BYTES uploaded once to
# its files API (kept there FILES_UPSTREAM_TTL seconds) and named by id;
# Gemini gets its Files API when a request's inline content passes
# FILES_GEMINI_INLINE_MAX_BYTES (it refuses requests over 20 MB).
FILES_UPSTREAM_MIN_BYTES = env_int("FILES_UPSTREAM_MIN_BYTES", 512 * 1024)
FILES_UPSTREAM_TTL = env_int("FILES_UPSTREAM_TTL", 7 * 24 * 3600)
FILES_GEMINI_INLINE_MAX_BYTES = env_int("FILES_GEMINI_INLINE_MAX_BYTES", 19 * 1024 * 1024)
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", "")
# The images API (docs/images.md): how long a call waits for its job before a
# 504 naming the job (s), and how long a job's result stays readable (s).
IMAGES_JOB_TIMEOUT = env_float("IMAGES_JOB_TIMEOUT", 300.0)
IMAGES_JOB_TTL = env_int("IMAGES_JOB_TTL", 24 * 3600)
# Run image jobs on a worker thread of the web process instead of a Celery
# worker: the embedded default (eager Celery); tests without a worker set it.
IMAGES_JOBS_IN_PROCESS = env_bool("IMAGES_JOBS_IN_PROCESS", CELERY_TASK_ALWAYS_EAGER)

S3_BUCKET = env("S3_BUCKET")
if S3_BUCKET:
    from boto3.s3.transfer import TransferConfig  # only when S3 is configured: boto3 is slow to import

    FILES_STORAGE: dict[str, Any] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env("S3_ENDPOINT_URL") or None,
            "region_name": env("S3_REGION") or None,
            "location": env("S3_PREFIX", ""),
            "addressing_style": env("S3_ADDRESSING_STYLE") or None,
            "signature_version": "s3v4",
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
            # Upload parts one at a time: 10 concurrent uploads must not hold
            # 10 x 10 parts of 8 MB in memory.
            "transfer_config": TransferConfig(use_threads=False),
        },
    }
else:
    FILES_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": FILES_ROOT},
    }

STORAGES["files"] = FILES_STORAGE
