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


def _databases(pattern: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [pattern])
        return sorted(row[0] for row in cursor.fetchall())


@pytest.fixture
def replaced_target(missing_database):
    """A database holding a backup's tables and one table of its own (``local_notes``); the
    copies a forced restore keeps of it are dropped afterwards."""
    yield missing_database
    for name in _databases(f"{missing_database}_replaced_%"):
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _add_local_table(database: str) -> None:
    with psycopg.connect(database_url(database), autocommit=True) as target:
        target.execute("CREATE TABLE local_notes (note text)")
        target.execute("INSERT INTO local_notes VALUES ('kept')")


def test_restore_refuses_a_target_that_holds_tables_unless_forced(tmp_path, replaced_target):
    call_command("sync_permissions", verbosity=0)
    manifest_path = _backup(tmp_path)
    target = database_url(replaced_target)
    _restore(manifest_path, target)
    _add_local_table(replaced_target)

    with pytest.raises(CommandError, match="is not empty"):
        _restore(manifest_path, target)
    output = _restore(manifest_path, target, "--force")

    assert "every count as in the backup" in output
    # The target is now the backup, whole; what it held before is kept under another name.
    [kept] = _databases(f"{replaced_target}_replaced_%")
    assert f'kept as "{kept}"' in output
    assert (
        _rows(replaced_target, "roles") == json.loads(manifest_path.read_text())["tables"]["roles"]
    )
    assert _tables(replaced_target) == _tables(kept) - 1
    assert _rows(kept, "local_notes") == 1
    assert _databases(f"{replaced_target}_restore_%") == []


def _truncate(manifest_path: Path) -> None:
    archive = manifest_path.with_suffix(".dump")
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size * 2 // 3])
    _reseal_manifest(manifest_path)


def _miscount(manifest_path: Path) -> None:
    manifest = json.loads(manifest_path.read_text())
    manifest["tables"]["roles"] += 1
    manifest_path.write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("damage", "refusal"),
    [(_truncate, "pg_restore failed"), (_miscount, "differ from the manifest: roles")],
    ids=["archive-cut-with-a-matching-checksum", "counts-differ"],
)
def test_a_forced_restore_that_fails_leaves_the_target_as_it_was(
    tmp_path, replaced_target, damage, refusal
):
    call_command("sync_permissions", verbosity=0)
    manifest_path = _backup(tmp_path)
    target = database_url(replaced_target)
    _restore(manifest_path, target)
    _add_local_table(replaced_target)
    tables, roles = _tables(replaced_target), _rows(replaced_target, "roles")
    damage(manifest_path)

    with pytest.raises(CommandError, match=refusal) as refused:
        _restore(manifest_path, target, "--force")

    assert "The target was left as it was." in str(refused.value)
    assert (_tables(replaced_target), _rows(replaced_target, "roles")) == (tables, roles)
    assert _rows(replaced_target, "local_notes") == 1
    assert _databases(f"{replaced_target}_restore_%") == []
    assert _databases(f"{replaced_target}_replaced_%") == []


def test_a_forced_restore_is_refused_while_someone_uses_the_target(tmp_path, replaced_target):
    manifest_path = _backup(tmp_path)
    target = database_url(replaced_target)
    _restore(manifest_path, target)
    _add_local_table(replaced_target)

    with (
        psycopg.connect(target + "?application_name=atrium-worker"),
        pytest.raises(CommandError, match=r"1 other session\(s\).*\(atrium-worker\)"),
    ):
        _restore(manifest_path, target, "--force")

    assert _rows(replaced_target, "local_notes") == 1
    assert _databases(f"{replaced_target}_restore_%") == []


def test_backup_keeps_the_newest_backups_it_is_told_to(tmp_path):
    made = [_backup(tmp_path, "--keep", "2") for _ in range(3)]

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        name for manifest in made[1:] for name in (manifest.name, f"{manifest.stem}.dump")
    )


# --- Encryption and verification ---------------------------------------------------------------


@pytest.fixture
def backup_key(settings):
    from cryptography.fernet import Fernet

    settings.BACKUP_ENCRYPTION_KEY = Fernet.generate_key().decode()
    return settings.BACKUP_ENCRYPTION_KEY


def _reseal_manifest(manifest_path: Path) -> None:
    """What someone who altered the archive would do so its SHA-256 still matches."""
    manifest = json.loads(manifest_path.read_text())
    archive = manifest_path.with_suffix(".dump")
    manifest["sha256"] = hashlib.sha256(archive.read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest))


def test_an_encrypted_backup_holds_no_plain_dump_and_restores_with_its_key(
    tmp_path, missing_database, backup_key
):
    call_command("sync_permissions", verbosity=0)

    manifest_path = _backup(tmp_path, "--encrypt")
    manifest = json.loads(manifest_path.read_text())
    sealed = manifest_path.with_suffix(".dump").read_bytes()
    output = _restore(manifest_path, database_url(missing_database))

    assert manifest["encryption"]["scheme"] == "aes-256-gcm-chunked-1"
    assert backup_key not in manifest_path.read_text()
    assert b"PGDMP" not in sealed and b"roles" not in sealed  # pg_dump's magic, a table name
    assert "every count as in the backup" in output
    assert _rows(missing_database, "roles") == manifest["tables"]["roles"] > 0


def test_an_encrypted_backup_is_refused_under_another_key(tmp_path, scratch_database, settings):
    from cryptography.fernet import Fernet

    settings.BACKUP_ENCRYPTION_KEY = Fernet.generate_key().decode()
    manifest_path = _backup(tmp_path, "--encrypt")
    settings.BACKUP_ENCRYPTION_KEY = Fernet.generate_key().decode()

    with pytest.raises(CommandError, match="encrypted with another key"):
        _restore(manifest_path, database_url(scratch_database))
    assert _tables(scratch_database) == 0


@pytest.mark.parametrize(
    ("alter", "refusal"),
    [
        (lambda data: data[: len(data) // 2], "cut short"),
        (lambda data: data[:-40] + bytes(b ^ 1 for b in data[-40:]), "does not open"),
    ],
    ids=["truncated", "altered"],
)
def test_an_altered_encrypted_archive_restores_nothing_even_with_a_matching_manifest(
    tmp_path, scratch_database, backup_key, alter, refusal
):
    manifest_path = _backup(tmp_path, "--encrypt")
    archive = manifest_path.with_suffix(".dump")
    archive.write_bytes(alter(archive.read_bytes()))
    _reseal_manifest(manifest_path)

    with pytest.raises(CommandError, match=refusal):
        _restore(manifest_path, database_url(scratch_database))
    assert _tables(scratch_database) == 0


def test_encrypting_without_a_key_says_how_to_make_one(tmp_path, settings):
    settings.BACKUP_ENCRYPTION_KEY = ""

    with pytest.raises(CommandError, match="BACKUP_ENCRYPTION_KEY is not set"):
        _backup(tmp_path, "--encrypt")
    assert list(tmp_path.iterdir()) == []


def _verify(path: Path) -> str:
    out = io.StringIO()
    call_command("backup", "--verify", str(path), stdout=out)
    return out.getvalue()


def _verify_databases() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s",
            [f"{connection.settings_dict['NAME']}_verify_%"],
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.parametrize("options", [(), ("--encrypt",)], ids=["plain", "encrypted"])
def test_verify_restores_into_a_scratch_database_compares_and_drops_it(
    tmp_path, backup_key, options
):
    call_command("sync_permissions", verbosity=0)
    manifest_path = _backup(tmp_path, *options)

    output = _verify(manifest_path.with_suffix(".dump"))

    assert "roles" in output and "MISMATCH" not in output
    assert "every count as in the backup" in output
    assert _verify_databases() == []


def test_verify_refuses_a_damaged_archive_before_restoring_anything(tmp_path):
    manifest_path = _backup(tmp_path)
    archive = manifest_path.with_suffix(".dump")
    archive.write_bytes(archive.read_bytes()[:-1])

    with pytest.raises(CommandError, match="does not match its manifest's SHA-256"):
        _verify(manifest_path)
    assert _verify_databases() == []


def test_the_restore_memory_setting_reaches_pg_restores_session(tmp_path, settings):
    manifest_path = _backup(tmp_path)
    settings.RESTORE_MAINTENANCE_WORK_MEM = "a lot"

    # PostgreSQL itself refuses the value, so it was sent; nothing is left behind.
    with pytest.raises(CommandError, match='invalid value for parameter "maintenance_work_mem"'):
        _verify(manifest_path)
    assert _verify_databases() == []
