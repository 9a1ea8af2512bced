import sys

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand

from core.postgres import (
    create_database,
    describe_connection_failure,
    is_missing_database,
    server_of,
)


class Command(BaseCommand):
    help = (
        "Check that the PostgreSQL server of DATABASE_URL answers and accepts its role, and "
        "create the database if it is missing. Exits with status 1 and one clear line when it "
        "cannot."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--server-only",
            action="store_true",
            help="Only check that the server answers and accepts the role (the test runner "
            "creates its own database).",
        )

    def handle(self, *args, server_only: bool = False, **options):
        database = settings.DATABASES["default"]
        try:
            psycopg.connect(**self._params(database["NAME"]), connect_timeout=5).close()
        except psycopg.OperationalError as error:
            # The server only says a database is missing once it has accepted the role.
            if not is_missing_database(error, database["NAME"]):
                self._fail(describe_connection_failure(error, database))
            if not server_only:
                self._create(database)

    def _create(self, database) -> None:
        try:
            create_database(self._params(database["NAME"]))
        except psycopg.OperationalError as error:
            self._fail(describe_connection_failure(error, {**database, "NAME": "postgres"}))
        except psycopg.Error as error:
            self._fail(
                f"PostgreSQL at {server_of(database)} would not create the database "
                f'"{database["NAME"]}" ({error.diag.message_primary or error}). Create it as a '
                "role that may, or point DATABASE_URL at an existing one."
            )
        self.stdout.write(f"Created database {database['NAME']}.")

    @staticmethod
    def _params(dbname: str) -> dict:
        database = settings.DATABASES["default"]
        return {
            "dbname": dbname,
            "host": database.get("HOST") or "localhost",
            "port": database.get("PORT") or 5432,
            "user": database.get("USER") or None,
            "password": database.get("PASSWORD") or None,
        }

    def _fail(self, line: str) -> None:
        self.stderr.write(line)
        sys.exit(1)
