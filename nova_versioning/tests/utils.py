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
"""Helpers shared by the tests."""

import threading

import fixtures
import sqlalchemy as sa

from nova_versioning import cache


class FlightWaiters(fixtures.Fixture):
    """Count the callers waiting on an in-flight minimum-version load.

    Lets a test hold a load until every concurrent caller is waiting on
    it, which is what proves single-flight rather than luck of timing.
    """

    def _setUp(self):
        self._cond = threading.Condition()
        self.count = 0
        waiters = self

        class CountingEvent(threading.Event):
            def wait(self, timeout=None):
                with waiters._cond:
                    waiters.count += 1
                    waiters._cond.notify_all()
                return super().wait(timeout)

        class Flight(cache._Flight):
            def __init__(self):
                super().__init__()
                self.done = CountingEvent()

        self.useFixture(fixtures.MonkeyPatch(
            'nova_versioning.cache._Flight', Flight))

    def wait_for(self, count, timeout=10):
        """True once ``count`` callers wait on a flight."""
        with self._cond:
            return self._cond.wait_for(lambda: self.count >= count,
                                       timeout=timeout)


def is_minimum_query(statement):
    """A statement computing a minimum version.

    MIN(version), or the first version in index order (ORDER BY
    services.version ... LIMIT), the form of the minimum-version reads.
    """
    text = statement.lower()
    return 'min(' in text or ('order by services.version' in text
                              and 'limit' in text)


class StatementCounter(fixtures.Fixture):
    """Record the SQL statements run on an engine."""

    def __init__(self, engine):
        super().__init__()
        self.engine = engine

    def _setUp(self):
        self.statements = []
        self._lock = threading.Lock()
        self.hooks = []
        sa.event.listen(self.engine, 'before_cursor_execute', self._record)
        self.addCleanup(sa.event.remove, self.engine,
                        'before_cursor_execute', self._record)

    def _record(self, conn, cursor, statement, parameters, context,
                executemany):
        with self._lock:
            self.statements.append(statement)
        for hook in self.hooks:
            hook(statement)

    def reset(self):
        with self._lock:
            del self.statements[:]

    def on_services(self, kind='SELECT'):
        return [s for s in self.statements
                if s.lstrip().upper().startswith(kind)
                and 'services' in s]

    def minimum_queries(self):
        """Statements computing a minimum version.

        MIN(version), or with the stale service policy the first version
        in index order (ORDER BY services.version ... LIMIT).
        """
        return [s for s in self.statements if is_minimum_query(s)]
