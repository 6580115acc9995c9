"""The settings package: every section is read, and no two sections define one setting."""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

import config.settings

SECTIONS = Path(config.settings.__file__).parent


def defined_names(module: Path) -> set[str]:
    """The upper-case names a section assigns at its top level (not those it imports)."""
    names: set[str] = set()
    for node in ast.parse(module.read_text()).body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        for target in targets:
            if isinstance(target, ast.Name) and target.id.isupper():
                names.add(target.id)
        if isinstance(node, ast.If):  # e.g. SECURE_PROXY_SSL_HEADER under a condition
            for inner in ast.walk(node):
                if isinstance(inner, ast.Assign):
                    names |= {t.id for t in inner.targets if isinstance(t, ast.Name) and t.id.isupper()}
    return names


def test_every_section_is_read():
    init = ast.parse((SECTIONS / "__init__.py").read_text())
    imported = [node.module for node in init.body if isinstance(node, ast.ImportFrom)]
    files = {f"config.settings.{p.stem}" for p in SECTIONS.glob("*.py") if p.stem != "__init__"}
    assert set(imported) == files  # a new section file that nothing imports would be ignored


def test_no_setting_is_defined_in_two_sections():
    owner: dict[str, str] = {}
    for module in sorted(SECTIONS.glob("*.py")):
        for name in defined_names(module):
            assert name not in owner, f"{name} is set in {owner[name]} and {module.name}"
            owner[name] = module.name
    # What the sections define is what Django reads (settings_test overrides some values).
    assert {
        "SECRET_KEY",
        "DATABASES",
        "CELERY_BEAT_SCHEDULE",
        "BILLING_FLUSH_SECONDS",
        "FILES_MAX_BYTES",
    } <= set(owner)
    assert all(hasattr(settings, name) for name in owner)
