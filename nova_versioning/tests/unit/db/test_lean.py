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
"""The lean read path of the minimum-version reads (db/lean.py).

The same answers as the rules of ``records`` computed in Python, and as
the statement run in an ORM reader session (the path it replaces), over
rows no service writes; one statement per call; the open transaction
joined; the same exceptions when the database cannot be used. Here on
SQLite; ``nova_versioning.tests.functional.test_lean_db`` runs the same
tests on MariaDB and PostgreSQL, and drops a held connection on the
server.
"""

import datetime
import os

import fixtures
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import enginefacade
from oslo_db.sqlalchemy import test_fixtures
from oslo_utils import uuidutils
import sqlalchemy as sa

from nova_versioning import cells
from nova_versioning import context as nv_context
from nova_versioning.db import api as db_api
from nova_versioning.db import lean
from nova_versioning.db import models
from nova_versioning import records
from nova_versioning.tests import base
from nova_versioning.tests import utils

C = 'nova-compute'
S = 'nova-scheduler'
K = 'nova-conductor'
NOW = datetime.datetime(2026, 11, 20, 12, 0, 0)
OLD = NOW - datetime.timedelta(days=2)
CUTOFF = NOW - datetime.timedelta(hours=1)

# (host, binary, version, extra columns): what hand-made rows, older code
# and other tools leave in a services table.
ROWS = [
    ('c1', C, 7, {}),
    ('c2', C, 6, {'forced_down': None}),
    ('c3', C, 4, {'forced_down': True}),
    ('c4', C, 3, {'deleted': -1}),
    ('c5', C, 5, {'last_seen_up': OLD, 'updated_at': None}),
    ('c6', 'NOVA-COMPUTE', 2, {}),
    ('c7', 'nova-compute ', 2, {}),
    ('c8', 'nova-c\u00f6mpute', 2, {}),
    (None, C, 6, {}),
    ('c\nforged', C, 6, {}),
    ('s1', S, None, {}),
    ('s2', S, 7, {}),
    ('s3', S, 0, {'forced_down': True}),
    ('k1', K, -4, {'last_seen_up': None, 'updated_at': None,
                   'created_at': OLD}),
    ('k2', K, 7, {'forced_down': None}),
]
BINARIES = [C, S, K, 'nova-absent']


def _last_heartbeat(row):
    for name in ('last_seen_up', 'updated_at', 'created_at'):
        if row[name] is not None:
            return row[name]
    return None


def expected_minimum(rows, binary, counted_since=None, exclude_host=None):
    """The rules of nova_versioning.records, in Python."""
    versions = []
    for row in rows:
        if (row['binary'] != binary or row['deleted']
                or records.forced_down(row['forced_down'])):
            continue
        if exclude_host is not None and row['host'] == exclude_host:
            continue
        beat = _last_heartbeat(row)
        if counted_since is not None and beat is not None and (
                beat < counted_since):
            continue
        versions.append(records.effective_version(row['version']))
    return min(versions) if versions else 0


class LeanReadTestsMixin(object):

    # What oslo.db raises when the database cannot be used (the session
    # path raised the same).
    DOWN_ERROR = db_exc.DBError

    def setUp(self):
        super().setUp()
        self.context = nv_context.get_admin_context()
        self.rows = []
        for i, (host, binary, version, extra) in enumerate(ROWS, 1):
            row = {'uuid': uuidutils.generate_uuid(),
                   'host': host, 'binary': binary, 'topic': 'topic',
                   'report_count': 0, 'disabled': False,
                   'forced_down': False, 'version': version, 'deleted': 0,
                   'created_at': NOW, 'updated_at': NOW,
                   'last_seen_up': NOW}
            row.update(extra)
            if row['deleted'] == -1:
                row['deleted'] = 1000 + i
            self.rows.append(row)
        with self.db.engine.begin() as conn:
            conn.execute(models.Service.__table__.insert(), self.rows)
        self.sql = self.useFixture(utils.StatementCounter(self.db.engine))

    def session_minimum(self, binary, counted_since=None, host=None):
        """The statement run in an ORM reader session, as before."""
        with db_api.main_context_manager.reader.using(self.context):
            row = self.context.session.execute(sa.select(
                *db_api._minimum_parts(binary, exclude_host=host,
                                       counted_since=counted_since))).one()
        return db_api._minimum(row)

    def test_same_answers_as_the_rules_and_the_session_path(self):
        for since in (None, CUTOFF):
            got = db_api.service_get_minimum_version(
                self.context, BINARIES, counted_since=since)
            expected = {b: expected_minimum(self.rows, b, since)
                        for b in BINARIES}
            self.assertEqual(expected, got, since)
            self.assertEqual(
                {b: self.session_minimum(b, since) for b in BINARIES}, got)
            for binary in BINARIES:
                self.assertEqual(
                    {binary: expected[binary]},
                    db_api.service_get_minimum_version(
                        self.context, [binary], counted_since=since))
        # The values these rows are about, spelled out.
        self.assertEqual({C: 5, S: 1, K: 1, 'nova-absent': 0},
                         db_api.service_get_minimum_version(
                             self.context, BINARIES))
        self.assertEqual({C: 6, S: 1, K: 7, 'nova-absent': 0},
                         db_api.service_get_minimum_version(
                             self.context, BINARIES, counted_since=CUTOFF))

    def test_minimum_of_others_same_as_the_rules(self):
        for since in (None, CUTOFF):
            for host in ('c1', 'c2', 'c5', 's1', 'k1', 'nobody'):
                for binary in (C, S, K):
                    expected = expected_minimum(self.rows, binary, since,
                                                exclude_host=host)
                    self.assertEqual(
                        expected,
                        db_api.service_get_minimum_version_of_others(
                            self.context, binary, host,
                            counted_since=since), (binary, host, since))
                    self.assertEqual(expected, self.session_minimum(
                        binary, since, host=host))

    def test_one_statement_per_call(self):
        db_api.service_get_minimum_version(self.context, [C])
        self.sql.reset()
        for since in (None, CUTOFF, None, CUTOFF):
            db_api.service_get_minimum_version(self.context, [C, S],
                                               counted_since=since)
        db_api.service_get_minimum_version_of_others(self.context, C, 'c1')
        queries = [s for s in self.sql.statements
                   if s.strip().upper() not in ('BEGIN', 'COMMIT',
                                                'ROLLBACK')]
        self.assertEqual(5, len(queries), queries)
        self.assertEqual(5, len(self.sql.minimum_queries()))
        if self.db.engine.dialect.name != 'sqlite':
            # No BEGIN or COMMIT either: one round trip.
            self.assertEqual(queries, self.sql.statements)

    def test_reads_inside_the_open_transaction(self):
        with db_api.main_context_manager.writer.using(self.context):
            db_api.service_create(self.context, {
                'host': 'new', 'binary': 'nova-newcomer', 'topic': 't',
                'version': 9})
            self.assertEqual(
                {'nova-newcomer': 9}, db_api.service_get_minimum_version(
                    self.context, ['nova-newcomer']))
            self.assertEqual(0, db_api.service_get_minimum_version_of_others(
                self.context, 'nova-newcomer', 'new'))
        self.assertEqual({'nova-newcomer': 9},
                         db_api.service_get_minimum_version(
                             self.context, ['nova-newcomer']))

    def test_sees_each_commit_at_once(self):
        self.assertEqual({'nova-later': 0}, db_api.service_get_minimum_version(
            self.context, ['nova-later']))
        with self.db.engine.begin() as conn:
            conn.execute(models.Service.__table__.insert().values(
                host='x', binary='nova-later', topic='t', version=8,
                deleted=0, report_count=0, forced_down=False))
        self.assertEqual({'nova-later': 8}, db_api.service_get_minimum_version(
            self.context, ['nova-later']))

    def test_same_error_when_the_database_cannot_be_used(self):
        facade = enginefacade.transaction_context()
        facade.configure(connection=self.unusable_url(), max_retries=0)
        self.useFixture(test_fixtures.ReplaceEngineFacadeFixture(
            db_api.main_context_manager, facade))
        context = nv_context.get_admin_context()

        def session_path():
            with db_api.main_context_manager.reader.using(context):
                context.session.execute(sa.text('SELECT 1'))

        expected = self.raised(session_path)
        got = self.raised(db_api.service_get_minimum_version, context, [C])
        self.assertIsInstance(got, self.DOWN_ERROR)
        self.assertIs(type(expected), type(got))
        self.assertEqual(str(expected), str(got))

    def raised(self, fn, *args):
        try:
            fn(*args)
        except Exception as exc:
            return exc
        self.fail('%s raised nothing' % fn)

    def unusable_url(self):
        missing = os.path.join(self.useFixture(
            fixtures.TempDir()).path, 'no', 'such', 'dir')
        return 'sqlite:///%s/db.sqlite' % missing

    def test_cells_read_the_same_minimum(self):
        # A cell's minimum, prepared: MIN(version) of the rows of the
        # binary not deleted and forced_down false (as Nova reads a cell),
        # binaries compared exactly.
        def nova_rule(binary):
            versions = [r['version'] for r in self.rows
                        if r['binary'] == binary and not r['deleted']
                        and r['forced_down'] is False
                        and r['version'] is not None]
            return min(versions) if versions else 0

        statement = cells._MINIMUM_STATEMENTS((3, False))
        rows = lean.read_engine(self.db.engine, statement,
                                {'b0': C, 'b1': K, 'b2': 'nova-absent'})
        self.assertEqual([nova_rule(C), nova_rule(K), 0],
                         cells._minimum_row(rows))
        self.assertEqual([5, -4, 0], cells._minimum_row(rows))


class LeanReadSQLiteTestCase(LeanReadTestsMixin, base.DBTestCase):
    pass


class HeldConnectionsTestCase(base.TestCase):
    """What happens to the held connections themselves."""

    def setUp(self):
        super().setUp()
        path = os.path.join(self.useFixture(
            fixtures.TempDir()).path, 'x.sqlite')
        self.engine = sa.create_engine('sqlite:///' + path)
        self.addCleanup(self.engine.dispose)
        self.statement = sa.select(sa.literal(1))

    def test_a_connection_is_kept_and_reused(self):
        connects = []
        sa.event.listen(self.engine, 'checkout',
                        lambda *args: connects.append(1))
        for _ in range(5):
            self.assertEqual([(1,)], [tuple(r) for r in lean.read_engine(
                self.engine, self.statement, {})])
        self.assertEqual(1, len(connects))

    def test_none_kept_of_an_in_memory_database(self):
        engine = sa.create_engine('sqlite://')
        self.addCleanup(engine.dispose)
        self.assertEqual([(1,)], [tuple(r) for r in lean.read_engine(
            engine, self.statement, {})])
        self.assertEqual([], lean.HELD.get(engine)._idle)

    def test_dispose_gives_them_back(self):
        lean.read_engine(self.engine, self.statement, {})
        held = lean.HELD.get(self.engine)
        self.assertEqual(1, len(held._idle))
        self.engine.dispose()
        self.assertEqual([], held._idle)
        self.assertIsNot(held, lean.HELD.get(self.engine))

    def test_an_error_is_raised_and_the_connection_dropped(self):
        self.assertRaises(sa.exc.OperationalError, lean.read_engine,
                          self.engine, sa.text('SELECT * FROM nothing'), {})
        self.assertEqual([], lean.HELD.get(self.engine)._idle)

    def test_other_process_leaves_them_alone(self):
        lean.read_engine(self.engine, self.statement, {})
        held = lean.HELD.get(self.engine)
        (parent_connection,) = held._idle
        held._pid = -1  # as seen from a forked child
        lean.read_engine(self.engine, self.statement, {})
        self.assertEqual([parent_connection], held._orphans)
        self.assertNotIn(parent_connection, held._idle)
        self.assertFalse(parent_connection.closed)
