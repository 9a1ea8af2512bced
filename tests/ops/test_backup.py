"""`manage.py backup` and `manage.py restore`, with the real pg_dump and pg_restore."""

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from tests.ops.conftest import database_url

ROOT = Path(__file__).resolve().parents[2]

# pg_dump reads what is committed, so these tests commit their rows.
pytestmark = pytest.mark.django_db(transaction=True)


def _backup(directory: Path, *options: str) -> Path:
    call_command("backup", "--output", str(directory), *options, stdout=io.StringIO())
    return max(directory.glob("*.json"))


def _restore(path: Path, target: str, *options: str) -> str:
    out = io.StringIO()
    call_command("restore", str(path), "--target", target, *options, stdout=out)
    return out.getvalue()


def _rows(database: str, table: str) -> int:
    with psycopg.connect(database_url(database)) as target:
        return target.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608


def _tables(database: str) -> int:
    with psycopg.connect(database_url(database)) as target:
        return target.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()[0]


def test_a_backup_restores_into_a_new_database_with_every_count_checked(tmp_path, missing_database):
    call_command("sync_permissions", verbosity=0)  # some rows worth restoring

    manifest_path = _backup(tmp_path)
    manifest = json.loads(manifest_path.read_text())
    archive = manifest_path.with_suffix(".dump")
    output = _restore(archive, database_url(missing_database))

    assert manifest["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert manifest["tables"]["roles"] == _rows(connection.settings_dict["NAME"], "roles") > 0
    assert manifest["migrations"] == [
        f"{m.app}.{m.name}" for m in MigrationRecorder.Migration.objects.order_by("id")
    ]
    assert f"Created database {missing_database}." in output
    assert "every count as in the backup" in output
    assert _rows(missing_database, "roles") == manifest["tables"]["roles"]
    assert _rows(missing_database, "django_migrations") == len(manifest["migrations"])


def test_restore_refuses_a_damaged_archive_in_one_line_and_leaves_the_target_untouched(
    tmp_path, scratch_database
):
    archive = _backup(tmp_path).with_suffix(".dump")
    damaged = bytearray(archive.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    archive.write_bytes(damaged)
    environment = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}

    result = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "manage.py",
            "restore",
            str(archive),
            "--target",
            database_url(scratch_database),
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "does not match its manifest's SHA-256" in result.stderr
    assert "nothing was restored" in result.stderr
    assert _tables(scratch_database) == 0


def test_restore_refuses_a_target_that_holds_tables_unless_forced(tmp_path, missing_database):
    manifest_path = _backup(tmp_path)
    target = database_url(missing_database)
    _restore(manifest_path, target)

    with pytest.raises(CommandError, match="is not empty"):
        _restore(manifest_path, target)
    output = _restore(manifest_path, target, "--force")

    assert "every count as in the backup" in output


def test_backup_keeps_the_newest_backups_it_is_told_to(tmp_path):
    made = [_backup(tmp_path, "--keep", "2") for _ in range(3)]

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        name for manifest in made[1:] for name in (manifest.name, f"{manifest.stem}.dump")
    )
