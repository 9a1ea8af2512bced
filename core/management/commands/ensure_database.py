import sys

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand
from psycopg import sql

NOT_ANSWERING = (
    "PostgreSQL is not answering at {host}:{port} ({error}). Start it, or point DATABASE_URL "
    "at one that answers, e.g. DATABASE_URL=postgres://user@host:5432/atrium"
)


class Command(BaseCommand):
    help = (
        "Check that the PostgreSQL server of DATABASE_URL answers and create the database if "
        "it is missing. Exits with status 1 and one clear line when the server does not answer."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--server-only",
            action="store_true",
            help="Only check that the server answers (the test runner creates its own database).",
        )

    def handle(self, *args, server_only: bool = False, **options):
        db = settings.DATABASES["default"]
        host, port = db.get("HOST") or "localhost", db.get("PORT") or 5432
        try:
            # The maintenance database always exists, whether or not ours does yet.
            with psycopg.connect(
                dbname="postgres",
                host=host,
                port=port,
                user=db.get("USER") or None,
                password=db.get("PASSWORD") or None,
                connect_timeout=5,
                autocommit=True,
            ) as connection:
                if server_only:
                    return
                exists = connection.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]
                ).fetchone()
                if not exists:
                    connection.execute(
                        sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"]))
                    )
                    self.stdout.write(f"Created database {db['NAME']}.")
        except psycopg.OperationalError as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else "no answer"
            self.stderr.write(NOT_ANSWERING.format(host=host, port=port, error=first_line))
            sys.exit(1)
