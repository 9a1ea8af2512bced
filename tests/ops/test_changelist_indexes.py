"""Every changelist of a large table reads its page from an index, in the list's order, with
each of its filters: opening it costs the same at ten rows as at ten million.

The page query is the one the admin runs: the ModelAdmin's ChangeList, built from a request as
the changelist view builds it, its ``result_list`` EXPLAINed. The tables here are small, where
the planner rightly prefers reading the whole table and sorting it; with sequential scans and
sorts priced out (``enable_seqscan``, ``enable_sort``, ``enable_incremental_sort`` off) it takes
an index that yields the rows in order if one exists, and a Sort or Seq Scan left in the plan
means none does.
"""

import re
from urllib.parse import parse_qsl

import pytest
from django.contrib import admin
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from core.admin import LargeTableAdminMixin
from tests import factories
from tests.billing.factories import InvoiceSendFactory
from tests.events.factories import EventFactory
from tests.webhooks.factories import WebhookDeliveryFactory

LARGE_TABLES = sorted(
    (
        model
        for model, model_admin in admin.site._registry.items()
        if isinstance(model_admin, LargeTableAdminMixin)
    ),
    key=lambda model: model._meta.label,
)
# The admin of every table of millions of rows says so (no full count, no facets).
EXPECTED_LARGE = {
    "accounts.ApiSession",
    "billing.Invoice",
    "billing.InvoiceSend",
    "billing.Payment",
    "chat.Message",
    "core.AuditEvent",
    "core.Event",
    "documents.DocumentVersion",
    "webhooks.WebhookDelivery",
}
FACTORIES = {
    "billing.InvoiceSend": InvoiceSendFactory,
    "core.Event": EventFactory,
    "webhooks.WebhookDelivery": WebhookDeliveryFactory,
}
# A plan node that sorts (a partitioned log's Merge Append merely merges sorted inputs, and
# says by what in a "Sort Key" line of its own).
SORT_NODE = re.compile(r"^\s*(->\s*)?(Incremental )?Sort\s+\(", re.MULTILINE)


def factory_for(model):
    return FACTORIES.get(model._meta.label) or getattr(factories, f"{model.__name__}Factory")


def changelist_for(model, user, params: dict[str, str]):
    """The ChangeList the admin builds for ``?<params>``."""
    request = RequestFactory().get("/", params)
    request.user = user
    return admin.site._registry[model].get_changelist_instance(request)


def filter_choices(model, user) -> list[dict[str, str]]:
    """The query of every choice of every filter on the model's changelist (the unfiltered
    list first)."""
    changelist = changelist_for(model, user, {})
    choices = [{}]
    for spec in changelist.filter_specs:
        for choice in spec.choices(changelist):
            params = dict(parse_qsl(choice["query_string"].lstrip("?")))
            if params and params not in choices:
                choices.append(params)
    return choices


def page_plan(model, user, params: dict[str, str]) -> str:
    page = changelist_for(model, user, params).result_list
    with connection.cursor() as cursor:
        # No statistics: those of three test rows (or of whatever earlier tests left, when
        # autovacuum analyzed them) would say a filter keeps every row, where on a large
        # table it keeps few. Without them the planner prices each filter as selective, as
        # it is at scale, and the plan no longer depends on the order tests ran in. Rolled
        # back with the test's transaction.
        cursor.execute(
            "DELETE FROM pg_statistic WHERE starelid = %s::regclass", [model._meta.db_table]
        )
        cursor.execute(
            "UPDATE pg_class SET reltuples = -1 WHERE oid = %s::regclass", [model._meta.db_table]
        )
        for setting in ("enable_seqscan", "enable_sort", "enable_incremental_sort"):
            cursor.execute(f"SET LOCAL {setting} = off")
        sql, sql_params = page.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", sql_params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_every_large_table_admin_is_known():
    assert {model._meta.label for model in LARGE_TABLES} == EXPECTED_LARGE


@pytest.fixture
def superuser(db):
    return factories.UserFactory(is_staff=True, is_superuser=True)


@pytest.mark.parametrize("model", LARGE_TABLES, ids=lambda model: model._meta.label)
def test_every_changelist_page_of_a_large_table_is_an_ordered_index_scan(model, superuser):
    factory_for(model).create_batch(3)

    for params in filter_choices(model, superuser):
        plan = page_plan(model, superuser, params)
        assert "Seq Scan" not in plan and not SORT_NODE.search(plan), f"{params}:\n{plan}"
        # A filter on a column is an index condition, not a row-by-row check.
        for column in (key.removesuffix("__exact") for key in params if key.endswith("__exact")):
            assert re.search(rf"Index Cond: .*\b{column}\b", plan), f"{params}:\n{plan}"


@pytest.mark.parametrize("model", LARGE_TABLES, ids=lambda model: model._meta.label)
def test_no_filter_of_a_large_table_reads_the_table_for_its_choices(model, superuser):
    factory_for(model).create_batch(3)

    with CaptureQueriesContext(connection) as queries:
        filter_choices(model, superuser)

    # A filter on a plain column lists its values with SELECT DISTINCT over every row.
    assert [q["sql"] for q in queries if "DISTINCT" in q["sql"].upper()] == []
