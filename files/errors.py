"""The files error tree: services and selectors raise ``FilesError`` with a
code; each surface maps it in one place (``files/v1.py`` for /v1)."""

from __future__ import annotations

from enum import StrEnum


class FilesErrorCode(StrEnum):
    NOT_FOUND = "file_not_found"  # 404, also another workspace's, deleted or expired files
    INVALID_PURPOSE = "invalid_purpose"  # 400 naming purpose
    INVALID_FILE = "invalid_file"  # 400 naming file: type not allowed, empty
    INVALID_EXPIRY = "invalid_expires_after"  # 400 naming expires_after
    TOO_LARGE = "file_too_large"  # 413
    BAD_SIGNATURE = "invalid_signature"  # 403 (signed URLs)


class FilesError(Exception):
    def __init__(self, code: FilesErrorCode, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param


def file_not_found(file_id: str, *, param: str | None = None) -> FilesError:
    return FilesError(FilesErrorCode.NOT_FOUND, f"No such File object: {file_id}", param=param)
