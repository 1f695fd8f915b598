# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.
"""The lean read path: one statement, one round trip, no ORM session.

The minimum-version reads run on every cache miss, every guard and every
pin resolution of a process that does not cache. Through an ORM session
in a reader transaction each one pays far more than its statement: the
session, the transaction (BEGIN and ROLLBACK), the pool checkout with its
ping, the statement built and its cache key computed again. Here instead:

* **Prepared statements.** Each statement is built once, with bound
  parameters (:class:`Prepared`), and SQLAlchemy's compiled cache of the
  engine keeps its SQL: a call only binds values.
* **Held connections.** A few connections of the engine are kept checked
  out between calls (:class:`HeldConnections`). On MariaDB/MySQL and
  PostgreSQL they are in autocommit mode, so a read is exactly one round
  trip (each statement is its own transaction, and sees every commit made
  before it). On SQLite (in-process, no round trip) the read is in a
  transaction of its own, ended at once, so that no read lock is held
  between calls.
* **What stays.** The engine is oslo.db's (``main_context_manager``'s
  reader engine, or a cell's engine), so its error translation (a
  database that is down raises ``DBConnectionError``, as before), its
  connection parameters and this project's statement timeouts
  (:mod:`nova_versioning.db.timeouts`) apply unchanged. A held
  connection that the server dropped while it was idle (a restart, a
  ``wait_timeout``) is found out by the read itself, which is run once
  more on a fresh connection from the pool (what the pool's pre-ping
  does on checkout). Any other error is raised as it is.
* **Inside a transaction** (a guard reading the minimum in the write
  transaction of a registration) the read joins that transaction, as the
  session path did: :func:`read` then runs the same statement on the
  transaction's connection.

A process that forks leaves the held connections to its parent: the
child never uses nor closes them (as oslo.db's pool does).
"""

import os
import threading
import weakref

from oslo_db import exception as db_exc
import sqlalchemy as sa

# Idle connections kept per engine; more concurrent readers check out
# connections of the pool and give them back.
MAX_IDLE = 4


class HeldConnections(object):
    """Connections of one engine kept checked out between reads."""

    def __init__(self, engine):
        self.engine = engine
        self.autocommit = engine.dialect.name != 'sqlite'
        # An in-memory SQLite database is one connection that every
        # checkout shares: none is kept out of the pool.
        self.keep = 0 if _in_memory(engine) else MAX_IDLE
        self._pid = os.getpid()
        self._idle = []
        # Connections of a parent process: never used, never closed here.
        self._orphans = []

    def _checkout(self):
        if self._pid != os.getpid():
            self._orphans.extend(self._idle)
            self._idle = []
            self._pid = os.getpid()
        try:
            return self._idle.pop(), True
        except IndexError:
            pass
        connection = self.engine.connect()
        if self.autocommit:
            connection.execution_options(isolation_level='AUTOCOMMIT')
        return connection, False

    def _checkin(self, connection):
        if len(self._idle) < self.keep and self._pid == os.getpid():
            self._idle.append(connection)
        else:
            connection.close()

    def execute(self, statement, parameters):
        """The rows of ``statement``, one round trip on a held connection.

        :returns: a list of rows.
        """
        while True:
            connection, reused = self._checkout()
            try:
                rows = connection.execute(statement, parameters).all()
                if not self.autocommit:
                    connection.rollback()
            except BaseException:
                dropped = connection.invalidated
                _close_quietly(connection)
                if reused and dropped:
                    # Dropped by the server while idle: once more, on a
                    # connection the pool checks out (and pings).
                    continue
                raise
            self._checkin(connection)
            return rows

    def close(self):
        """Give every idle connection back to the pool."""
        idle, self._idle = self._idle, []
        for connection in idle:
            _close_quietly(connection)


def _in_memory(engine):
    url = engine.url
    return url.get_backend_name() == 'sqlite' and url.database in (
        None, '', ':memory:')


def _close_quietly(connection):
    try:
        connection.close()
    except Exception:
        pass


class _Registry(object):
    """HeldConnections per engine; an engine disposed drops its own."""

    def __init__(self):
        self._lock = threading.Lock()
        self._held = weakref.WeakKeyDictionary()

    def get(self, engine):
        held = self._held.get(engine)
        if held is not None:
            return held
        with self._lock:
            held = self._held.get(engine)
            if held is None:
                held = HeldConnections(engine)
                self._held[engine] = held
                if not sa.event.contains(engine, 'engine_disposed',
                                         self._disposed):
                    sa.event.listen(engine, 'engine_disposed',
                                    self._disposed)
            return held

    def _disposed(self, engine):
        with self._lock:
            held = self._held.pop(engine, None)
        if held is not None:
            held.close()

    def close_all(self):
        with self._lock:
            helds = list(self._held.values())
            self._held.clear()
        for held in helds:
            held.close()


HELD = _Registry()


class Prepared(object):
    """Statements built once per shape, run with bound parameters.

    :param build: callable taking the shape (a hashable) and returning
        the statement.
    """

    def __init__(self, build):
        self._build = build
        self._statements = {}

    def __call__(self, shape):
        statement = self._statements.get(shape)
        if statement is None:
            statement = self._statements.setdefault(shape,
                                                    self._build(shape))
        return statement


def _transaction_open(context):
    try:
        context.transaction_ctx
    except db_exc.NoEngineContextEstablished:
        return False
    return True


def read(context_manager, context, statement, parameters):
    """Rows of ``statement`` read through ``context_manager``'s engine.

    On a held connection (one round trip), or, when ``context`` is inside
    a transaction of ``context_manager``, on that transaction's connection.
    """
    if _transaction_open(context):
        with context_manager.reader.connection.using(context) as connection:
            return connection.execute(statement, parameters).all()
    engine = context_manager.reader.get_engine()
    return HELD.get(engine).execute(statement, parameters)


def read_engine(engine, statement, parameters):
    """Rows of ``statement`` on a held connection of ``engine``."""
    return HELD.get(engine).execute(statement, parameters)
