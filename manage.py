#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    # A command is one short process on one connection: psycopg's pool would only retry a
    # refused connection in the background and report a timeout 10 s later, not the reason.
    os.environ["DATABASE_POOL"] = "false"
    from django.core.management import execute_from_command_line

    from core.postgres import configuration_errors_in_one_line

    with configuration_errors_in_one_line(traceback="--traceback" in sys.argv):
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
