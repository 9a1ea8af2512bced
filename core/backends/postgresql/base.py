"""Django's PostgreSQL backend, with a pool that checks a connection it hands out by reading
its socket instead of sending it a query.

Django's pool (``OPTIONS["pool"]`` with ``CONN_HEALTH_CHECKS``) sends every connection an
empty query as it leaves the pool: a round trip per request, a third of a light endpoint's
time on a busy machine (docs/performance.md). A connection the server ended (a restart,
``pg_terminate_backend``, an idle timeout) has a closed socket, and reading what is waiting on
it, without sending anything, says so: that keeps the guarantee the check is there for (the
first request after an outage succeeds, docs/operations.md) for a fraction of a microsecond.
"""

from time import monotonic
from typing import Any

import psycopg
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import NO_DB_ALIAS
from django.db.backends.postgresql import base as postgresql
from psycopg import pq
from psycopg_pool import ConnectionPool


def server_ended(connection: psycopg.Connection[Any]) -> bool:
    """Whether the server has ended ``connection``; sends nothing.

    An idle connection has nothing to read unless the server closed it, usually after saying
    why: the first read takes the goodbye, the second meets the closed socket.
    """
    try:
        for _ in range(2):
            connection.pgconn.consume_input()
    except psycopg.OperationalError:
        return True
    return connection.pgconn.status != pq.ConnStatus.OK


class SocketCheckedPool(ConnectionPool):
    """Hands out only connections the server has not ended.

    psycopg's own ``check=`` sleeps a second after a failed check before trying again, longer
    than a request waits for a connection (``DATABASE_POOL_TIMEOUT``): after a restart every
    pooled connection is dead, and the first requests would time out behind that sleep. Here
    a dead one goes straight back, which makes the pool replace it, and the request waits for
    the next connection within its own timeout.
    """

    def getconn(self, timeout: float | None = None) -> psycopg.Connection[Any]:
        deadline = monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            connection = super().getconn(deadline - monotonic())
            if not server_ended(connection):
                return connection
            self.putconn(connection)


class DatabaseWrapper(postgresql.DatabaseWrapper):
    _connection_pools: dict[str, ConnectionPool]  # Django's, shared by every wrapper

    @property
    def pool(self) -> ConnectionPool | None:
        # Django's property, with SocketCheckedPool where it passes
        # check=ConnectionPool.check_connection.
        pool_options = self.settings_dict["OPTIONS"].get("pool")
        if self.alias == NO_DB_ALIAS or not pool_options:
            return None
        if self.alias not in self._connection_pools:
            if self.settings_dict.get("CONN_MAX_AGE", 0) != 0:
                raise ImproperlyConfigured("Pooling doesn't support persistent connections.")
            pool_class = (
                SocketCheckedPool if self.settings_dict["CONN_HEALTH_CHECKS"] else ConnectionPool
            )
            pool = pool_class(
                kwargs={**self.get_connection_params(), "autocommit": True},
                open=False,
                configure=self._configure_connection,  # type: ignore[attr-defined]
                **({} if pool_options is True else pool_options),
            )
            # Threads racing here each built a closed pool; the first one stored wins.
            self._connection_pools.setdefault(self.alias, pool)
        return self._connection_pools[self.alias]
