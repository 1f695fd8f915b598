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
"""A bounded time for every database operation of a service process.

oslo.db retries a connection ``[database]/max_retries`` times, but each
attempt, and every statement after it, waits as long as the driver does:
for ever, with PyMySQL and psycopg2, on a server that accepts the TCP
connection and then never answers. :func:`install` gives every connection
the process opens a deadline of ``[versioning]/database_operation_timeout``
seconds (``T``), per driver:

* PyMySQL: ``connect_timeout`` (``T``, at most 10 s per attempt as
  PyMySQL's own default), ``read_timeout`` and ``write_timeout`` (``T``):
  the handshake and every answer are bounded.
* psycopg2: ``connect_timeout``, TCP keepalives, ``tcp_user_timeout`` and a
  server-side ``statement_timeout`` (``T``); and, because libpq has no read
  timeout, a wait callback: psycopg2 then waits for the server's answers
  in Python, which gives up after ``T`` seconds without one (the
  connection is closed and the error is a disconnect, which oslo.db
  reports as ``DBConnectionError``).
* SQLite: the busy timeout (``timeout``).

A value given in ``[database]/connection_parameters`` (the URL query)
takes precedence over these.

``nova-versioning-manage db sync`` reads the schema's state with every
bound above, then installs ``install(conf, statements=False)`` for its
migrations: connecting stays bounded (and, with PostgreSQL, the TCP
keepalives and ``tcp_user_timeout`` that notice a server gone away), but
neither reads nor statements are, since one migration may rightly take
longer than any query.
"""

import select

from oslo_log import log as logging
import sqlalchemy as sa

LOG = logging.getLogger(__name__)

# PyMySQL's default connect timeout: one attempt never waits longer.
_MAX_CONNECT_TIMEOUT = 10


class DatabaseTimeouts(object):
    """The per-driver deadlines of one timeout, as connection parameters.

    :param timeout: seconds (``[versioning]/database_operation_timeout``).
    :param statements: also bound every read, write and statement; False
        bounds connecting alone (and, with PostgreSQL, a peer gone away).
    """

    def __init__(self, timeout, statements=True):
        self.timeout = int(timeout)
        self.statements = statements

    def parameters(self, driver):
        """Connection parameters of ``driver`` (a DBAPI module name)."""
        timeout = self.timeout
        if driver == 'pymysql':
            params = {'connect_timeout': min(timeout, _MAX_CONNECT_TIMEOUT)}
            if self.statements:
                params.update(read_timeout=timeout, write_timeout=timeout)
            return params
        if driver == 'psycopg2':
            # libpq takes at least 2 s for connect_timeout.
            idle = max(1, min(timeout // 3, 30))
            return {'connect_timeout': max(2, min(timeout,
                                                  _MAX_CONNECT_TIMEOUT)),
                    'keepalives': 1, 'keepalives_idle': idle,
                    'keepalives_interval': idle, 'keepalives_count': 3,
                    'tcp_user_timeout': timeout * 1000}
        if driver in ('sqlite3', 'pysqlite'):
            return {'timeout': timeout}
        return {}

    def apply(self, driver, cparams):
        """Add the parameters of ``driver`` not already in ``cparams``."""
        for name, value in self.parameters(driver).items():
            cparams.setdefault(name, value)
        if driver == 'psycopg2' and self.statements:
            options = cparams.get('options') or ''
            if 'statement_timeout' not in options:
                cparams['options'] = (
                    '%s -c statement_timeout=%d' % (options,
                                                    self.timeout * 1000)
                ).strip()
        return cparams

    def _on_connect(self, dialect, conn_rec, cargs, cparams):
        self.apply(_driver_name(dialect), cparams)

    def psycopg2_wait(self, conn):
        """psycopg2 wait callback: give up after ``timeout`` s of silence.

        Each wait for the server (to send, or for its answer) may last the
        whole timeout; a statement that goes on answering is not cut.
        """
        import psycopg2
        from psycopg2 import extensions
        while True:
            state = conn.poll()
            if state == extensions.POLL_OK:
                return
            if state == extensions.POLL_READ:
                ready = select.select([conn.fileno()], [], [],
                                      self.timeout)[0]
            elif state == extensions.POLL_WRITE:
                ready = select.select([], [conn.fileno()], [],
                                      self.timeout)[1]
            else:
                raise psycopg2.OperationalError(
                    'unexpected poll state %r' % state)
            if not ready:
                # Raised here, psycopg2 closes the connection; the words
                # are those SQLAlchemy recognises as a disconnect.
                raise psycopg2.OperationalError(
                    'could not receive data from server: no answer within '
                    '%d seconds ([versioning]/database_operation_timeout)'
                    % self.timeout)


def _driver_name(dialect):
    return getattr(dialect, 'driver', None) or dialect.dbapi.__name__


class _Installed(object):
    timeouts = None


def install(conf, statements=True):
    """Bound every database operation of this process (see module doc).

    Called once a service has read its configuration; a later call
    replaces the timeout.

    :param statements: False bounds connecting alone (``db sync``).
    """
    timeouts = DatabaseTimeouts(conf.versioning.database_operation_timeout,
                                statements=statements)
    previous = _Installed.timeouts
    if previous is not None and sa.event.contains(
            sa.engine.Engine, 'do_connect', previous._on_connect):
        sa.event.remove(sa.engine.Engine, 'do_connect', previous._on_connect)
    sa.event.listen(sa.engine.Engine, 'do_connect', timeouts._on_connect)
    _Installed.timeouts = timeouts
    try:
        from psycopg2 import extensions
    except ImportError:
        pass
    else:
        # Without the callback libpq waits as it does by itself: connecting
        # is bounded by connect_timeout, answers are not.
        extensions.set_wait_callback(timeouts.psycopg2_wait
                                     if statements else None)
    return timeouts


def installed():
    """The DatabaseTimeouts :func:`install` gave this process, or None."""
    return _Installed.timeouts


def uninstall():
    """Undo :func:`install` (tests)."""
    timeouts = _Installed.timeouts
    if timeouts is None:
        return
    if sa.event.contains(sa.engine.Engine, 'do_connect',
                         timeouts._on_connect):
        sa.event.remove(sa.engine.Engine, 'do_connect', timeouts._on_connect)
    _Installed.timeouts = None
    try:
        from psycopg2 import extensions
    except ImportError:
        return
    if extensions.get_wait_callback() == timeouts.psycopg2_wait:
        extensions.set_wait_callback(None)
