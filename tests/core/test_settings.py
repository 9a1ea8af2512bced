"""Production settings fail loudly without a secret and pass Django's deployment checks."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from core.checks import field_encryption_keys

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS")
    }
    environment.update(DJANGO_SETTINGS_MODULE="config.settings.production", **env)
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", ALLOWED_HOSTS="atrium.example.com")

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_field_encryption_keys():
    result = _manage(
        "check", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="atrium.example.com"
    )

    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS must be set" in result.stderr


def test_production_refuses_to_start_with_a_malformed_encryption_key():
    result = _manage(
        "check",
        SECRET_KEY=secrets.token_urlsafe(50),
        FIELD_ENCRYPTION_KEYS=f"{Fernet.generate_key().decode()},not-a-key",
        ALLOWED_HOSTS="atrium.example.com",
    )

    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS key 2 is not a Fernet key" in result.stderr
    assert "not-a-key" not in result.stderr


def test_a_malformed_encryption_key_fails_the_system_checks(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["short"]

    errors = field_encryption_keys()

    assert [error.id for error in errors] == ["core.E001"]


def test_production_passes_the_deployment_checks_with_a_real_secret():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY=secrets.token_urlsafe(50),
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="atrium.example.com",
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
