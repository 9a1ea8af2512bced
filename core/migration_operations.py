"""Migration operations for rules that live in PostgreSQL rather than in Django's model state."""

from django.conf import settings
from django.db import migrations

TOUCH_FUNCTION = "atrium_touch_updated_at"


class CreateTouchUpdatedAtFunction(migrations.RunSQL):
    """Creates the trigger function that moves ``updated_at`` on every UPDATE.

    ``clock_timestamp()`` rather than ``CURRENT_TIMESTAMP``: a row created and changed in the
    same transaction must still show that it changed.
    """

    def __init__(self) -> None:
        super().__init__(
            sql=f"""
                CREATE FUNCTION {TOUCH_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    NEW.updated_at := clock_timestamp();
                    RETURN NEW;
                END $$;
            """,
            reverse_sql=f"DROP FUNCTION {TOUCH_FUNCTION}();",
        )


class TouchUpdatedAt(migrations.RunSQL):
    """Attaches the ``updated_at`` trigger to one table."""

    def __init__(self, table: str) -> None:
        trigger = f"{table}_touch_updated_at"
        super().__init__(
            sql=(
                f"CREATE TRIGGER {trigger} BEFORE UPDATE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {TOUCH_FUNCTION}();"
            ),
            reverse_sql=f"DROP TRIGGER {trigger} ON {table};",
        )


class MakeAppendOnly(migrations.RunSQL):
    """Makes PostgreSQL refuse UPDATE and DELETE on a table (an append-only log).

    TRUNCATE stays possible: it is an operator's deliberate act on the whole table and the
    test database is emptied with it. ``deletable=True`` refuses UPDATE only, for a log whose
    old rows a retention job removes (the events table).
    """

    def __init__(self, table: str, *, deletable: bool = False) -> None:
        function = f"{table}_refuse_change"
        refused = "UPDATE" if deletable else "UPDATE OR DELETE"
        super().__init__(
            sql=f"""
                CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                        USING ERRCODE = 'insufficient_privilege';
                END $$;
                CREATE TRIGGER {table}_append_only BEFORE {refused} ON {table}
                    FOR EACH ROW EXECUTE FUNCTION {function}();
            """,
            reverse_sql=f"""
                DROP TRIGGER {table}_append_only ON {table};
                DROP FUNCTION {function}();
            """,
        )


class CreateDatabaseCacheTable(migrations.operations.base.Operation):
    """The table of Django's database cache (the shared cache when ``REDIS_URL`` is unset),
    named by ``settings.DATABASE_CACHE_TABLE`` and made exactly as ``manage.py
    createcachetable`` makes it, so that ``migrate`` is the only step a deployment needs.

    A database where ``createcachetable`` already ran keeps its table (and its entries).
    """

    reversible = True

    def state_forwards(self, app_label, state):
        # Not a model: the cache reads and writes the table with its own SQL.
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        table = settings.DATABASE_CACHE_TABLE
        if table in schema_editor.connection.introspection.table_names():
            return
        quote = schema_editor.quote_name
        schema_editor.execute(
            f"CREATE TABLE {quote(table)} ("
            f"{quote('cache_key')} varchar(255) NOT NULL PRIMARY KEY, "
            f"{quote('value')} text NOT NULL, "
            f"{quote('expires')} timestamp with time zone NOT NULL)"
        )
        schema_editor.execute(
            f"CREATE INDEX {quote(table + '_expires')} ON {quote(table)} ({quote('expires')})"
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        schema_editor.execute(
            f"DROP TABLE IF EXISTS {schema_editor.quote_name(settings.DATABASE_CACHE_TABLE)}"
        )

    def describe(self):
        return "Create the database cache's table (settings.DATABASE_CACHE_TABLE)"
