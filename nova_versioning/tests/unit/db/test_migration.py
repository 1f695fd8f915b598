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
"""Whose schema a database holds, and the migration bookkeeping.

The project's alembic keeps its revision in a table of its own; a database
made by a release that kept it in ``alembic_version`` is moved over by
``db sync`` with its rows kept; a Nova database, or another project's, is
never written to. The same tests run on MariaDB and PostgreSQL in
``nova_versioning.tests.functional.test_migration_db``.
"""

import datetime
import os
import subprocess
import sys

from alembic import command as alembic_command
import fixtures
import sqlalchemy as sa

from nova_versioning.cmd import status
from nova_versioning.db import api as db_api
from nova_versioning.db import migration
from nova_versioning.db import models
from nova_versioning import exception
from nova_versioning import fixtures as nv_fixtures
from nova_versioning import objects
from nova_versioning.tests import base

SCRIPT = ('import sys; import nova_versioning.cmd as m; '
          'sys.exit(m.manage_main())')

# Nova's alembic head in nova 34.0.0.
NOVA_REVISION = 'ab450ba04102'

WHEN = datetime.datetime(2026, 11, 1, 12, 0, 0)


def legacy_db_sync(engine):
    """Make the schema as releases before the own version table did.

    The same migrations, with their revision in alembic's default table.
    """
    with engine.begin() as connection:
        alembic_command.upgrade(migration._alembic_config(
            connection, version_table=migration.LEGACY_VERSION_TABLE),
            'head')


NOVA_TOPIC_KEY = 'uniq_services0host0topic0deleted'


def make_nova_like(engine, revision=NOVA_REVISION):
    """Nova's marks, by hand: its tables and its revision.

    The real thing, made by nova-manage, is checked in the nova-interop
    tests; this one lets every backend run without Nova installed.
    """
    metadata = sa.MetaData()
    sa.Table('compute_nodes', metadata,
             sa.Column('id', sa.Integer, primary_key=True))
    sa.Table('instances', metadata,
             sa.Column('id', sa.Integer, primary_key=True))
    sa.Table(migration.LEGACY_VERSION_TABLE, metadata,
             sa.Column('version_num', sa.String(32), primary_key=True))
    with engine.begin() as connection:
        models.BASE.metadata.create_all(connection)
        metadata.create_all(connection)
        # Nova's services table has this unique key besides ours.
        connection.execute(sa.text(
            'CREATE UNIQUE INDEX %s ON services (host, topic, deleted)'
            % NOVA_TOPIC_KEY))
        connection.execute(
            metadata.tables[migration.LEGACY_VERSION_TABLE].insert(),
            {'version_num': revision})


def snapshot(engine):
    """Every table and its rows, to compare before and after."""
    inspector = sa.inspect(engine)
    result = {}
    metadata = sa.MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        for name, table in sorted(metadata.tables.items()):
            rows = connection.execute(sa.select(table)).all()
            result[name] = (
                sorted(tuple(str(v) for v in row) for row in rows),
                sorted(i['name'] or '' for i in inspector.get_indexes(name)))
    return result


class EmptyDatabaseMixin(object):
    """An empty database of BACKEND, made by each test."""

    def setUp(self):
        base.TestCase.setUp(self)
        if self.BACKEND == 'sqlite':
            tmp = self.useFixture(fixtures.TempDir()).path
            self.url = 'sqlite:///%s' % os.path.join(tmp, 'nv.sqlite')
        else:
            self.url = self.provision_database()
        self.engine = sa.create_engine(self.url)
        self.addCleanup(self.engine.dispose)

    def _insert_services(self):
        rows = [dict(uuid='00000000-0000-0000-0000-%012d' % i,
                     host='host%d' % i, binary='nova-compute',
                     topic='compute', report_count=i, disabled=False,
                     forced_down=i == 2, version=60 + i, deleted=0,
                     created_at=WHEN, last_seen_up=WHEN)
                for i in (1, 2, 3)]
        with self.engine.begin() as connection:
            connection.execute(models.Service.__table__.insert(), rows)

    def _services(self):
        with self.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(
                sa.select(models.Service.__table__).order_by(
                    models.Service.id))]

    def _tables(self):
        return set(sa.inspect(self.engine).get_table_names())

    def _run(self, *args):
        tmp = self.useFixture(fixtures.TempDir()).path
        conf = os.path.join(tmp, 'nv.conf')
        with open(conf, 'w') as f:
            f.write('[database]\nconnection = %s\n' % self.url)
        proc = subprocess.run(
            [sys.executable, '-c', SCRIPT, '--config-file', conf] +
            list(args), capture_output=True, text=True, timeout=120,
            cwd=tmp)
        return proc.returncode, proc.stdout, proc.stderr


class MigrationTestsMixin(EmptyDatabaseMixin):
    """Migrations on an empty database of BACKEND."""

    def test_empty_database_synced_into_own_version_table(self):
        self.assertEqual(migration.EMPTY,
                         migration.schema_state(self.engine).kind)
        state = migration.db_sync(engine=self.engine)
        self.assertEqual(migration.EMPTY, state.kind)
        tables = self._tables()
        self.assertIn(migration.VERSION_TABLE, tables)
        self.assertNotIn(migration.LEGACY_VERSION_TABLE, tables)
        self.assertEqual(
            migration.SchemaState(migration.OURS, migration.head_version()),
            migration.schema_state(self.engine))

    def test_legacy_deployment_moved_with_its_rows(self):
        legacy_db_sync(self.engine)
        self._insert_services()
        before = self._services()
        self.assertEqual(
            migration.SchemaState(migration.LEGACY, '0001'),
            migration.schema_state(self.engine))
        self.assertEqual('0001', migration.db_version(self.engine))
        state = migration.db_sync(engine=self.engine)
        self.assertEqual(migration.LEGACY, state.kind)
        self.assertEqual(
            migration.SchemaState(migration.OURS, migration.head_version()),
            migration.schema_state(self.engine))
        self.assertNotIn(migration.LEGACY_VERSION_TABLE, self._tables())
        self.assertEqual(before, self._services())
        # And again: nothing left to move.
        migration.db_sync(engine=self.engine)
        self.assertEqual(before, self._services())

    def test_nova_database_recognised_and_not_altered(self):
        make_nova_like(self.engine)
        self._insert_services()
        before = snapshot(self.engine)
        state = migration.schema_state(self.engine)
        self.assertEqual(
            migration.SchemaState(migration.NOVA, None, NOVA_REVISION),
            state)
        self.assertTrue(state.usable)
        self.assertIn('belongs to Nova (alembic revision ab450ba04102',
                      state.describe())
        self.assertIsNone(migration.db_version(self.engine))
        self.assertEqual(state, migration.db_sync(engine=self.engine))
        self.assertEqual(before, snapshot(self.engine))

    def test_foreign_schema_refused_nothing_written(self):
        metadata = sa.MetaData()
        table = sa.Table(migration.LEGACY_VERSION_TABLE, metadata,
                         sa.Column('version_num', sa.String(32),
                                   primary_key=True))
        with self.engine.begin() as connection:
            metadata.create_all(connection)
            connection.execute(table.insert(), {'version_num': 'cafe01'})
        before = snapshot(self.engine)
        self.assertEqual(migration.FOREIGN,
                         migration.schema_state(self.engine).kind)
        exc = self.assertRaises(exception.ForeignSchema, migration.db_sync,
                                engine=self.engine)
        self.assertIn('alembic revision cafe01 in alembic_version', str(exc))
        self.assertEqual(before, snapshot(self.engine))

    # -- the commands, as real processes ---------------------------------

    def test_manage_on_nova_database_one_line_nothing_written(self):
        make_nova_like(self.engine)
        before = snapshot(self.engine)
        code, out, err = self._run('db', 'sync')
        self.assertEqual((0, ''), (code, err))
        self.assertEqual(1, len(out.splitlines()), out)
        self.assertIn('Nothing to do: the services table belongs to Nova',
                      out)
        code, out, err = self._run('db', 'version')
        self.assertEqual((0, ''), (code, err))
        self.assertEqual(1, len(out.splitlines()), out)
        self.assertIn('belongs to Nova', out)
        self.assertEqual(before, snapshot(self.engine))

    def test_manage_db_sync_moves_legacy_revision(self):
        legacy_db_sync(self.engine)
        self._insert_services()
        before = self._services()
        code, out, err = self._run('db', 'sync')
        self.assertEqual((0, ''), (code, err))
        self.assertEqual(
            'Moved the schema revision 0001 from alembic_version to '
            'nova_versioning_alembic_version.\n'
            'Database schema is at revision 0001.\n', out)
        self.assertEqual(before, self._services())

    def test_opt_in_index_refused_off_nova(self):
        migration.db_sync(engine=self.engine)
        before = snapshot(self.engine)
        code, out, err = self._run('db', 'index', 'create')
        self.assertEqual((1, ''), (code, out))
        self.assertEqual(1, len(err.splitlines()), err)
        self.assertIn('db index only applies to a Nova database', err)
        self.assertEqual(before, snapshot(self.engine))

    def test_manage_db_sync_foreign_schema_one_line(self):
        metadata = sa.MetaData()
        sa.Table('services', metadata,
                 sa.Column('id', sa.Integer, primary_key=True))
        metadata.create_all(self.engine)
        before = snapshot(self.engine)
        code, out, err = self._run('db', 'sync')
        self.assertEqual(1, code)
        self.assertEqual('', out)
        self.assertEqual(1, len(err.splitlines()), err)
        self.assertIn('Refusing to write to the database at '
                      '[database]/connection: the database holds another '
                      'project\'s schema', err)
        self.assertEqual(before, snapshot(self.engine))


class NovaWritesTestsMixin(EmptyDatabaseMixin):
    """What this project writes, and refuses to, in a Nova database."""

    def setUp(self):
        super().setUp()
        make_nova_like(self.engine)
        self._insert_services()
        self.useFixture(nv_fixtures.Database(connection=self.url))

    def _record(self, host='host1'):
        return self._services()[int(host[-1]) - 1]

    def test_service_delete_refused_one_line(self):
        before = snapshot(self.engine)
        code, out, err = self._run('service', 'delete', 'host1',
                                   'nova-compute')
        self.assertEqual((1, ''), (code, out))
        self.assertEqual(1, len(err.splitlines()), err)
        self.assertIn('Refusing to delete the nova-compute record of host '
                      'host1: this is a Nova database', err)
        # Nova's command, for this host and binary, ready to copy.
        self.assertIn('Use Nova\'s API: openstack compute service delete '
                      '$(openstack compute service list --host host1 '
                      '--service nova-compute -f value -c ID) (or service '
                      'force-down here', err)
        self.assertNotIn('<', err)
        self.assertEqual(before, snapshot(self.engine))

    def test_force_down_and_unset(self):
        code, out, err = self._run('service', 'force-down', 'host1',
                                   'nova-compute')
        self.assertEqual(0, code, err)
        forced = dict(zip(models.Service.__table__.c.keys(),
                          self._record()))
        self.assertTrue(forced['forced_down'])
        self.assertEqual(61, forced['version'])
        code, out, err = self._run('service', 'force-down', 'host1',
                                   'nova-compute', '--unset')
        self.assertEqual(0, code, err)
        unset = dict(zip(models.Service.__table__.c.keys(), self._record()))
        self.assertFalse(unset['forced_down'])
        self.assertEqual(61, unset['version'])

    def test_registration_refused(self):
        before = snapshot(self.engine)
        service = objects.Service(self.context, host='newhost',
                                  binary='nova-compute', topic='compute')
        exc = self.assertRaises(exception.NovaDatabase, service.create)
        self.assertIn('Refusing to register nova-compute on host newhost: '
                      '[database]/connection is a Nova database', str(exc))
        existing = objects.Service.get_by_host_and_binary(
            self.context, 'host1', 'nova-compute')
        self.assertRaises(exception.NovaDatabase, existing.save)
        self.assertEqual(before, snapshot(self.engine))

    def test_opt_in_index_created_and_dropped(self):
        before = snapshot(self.engine)
        code, out, err = self._run('db', 'index', 'create')
        self.assertEqual((0, ''), (code, err))
        self.assertEqual('Created the index %s on Nova\'s services table.\n'
                         % migration.NOVA_OPT_IN_INDEX, out)
        self.assertTrue(migration.has_nova_index(self.engine))
        indexes = {i['name']: i['column_names'] for i in
                   sa.inspect(self.engine).get_indexes('services')}
        self.assertEqual(['binary', 'deleted', 'forced_down', 'version'],
                         indexes[migration.NOVA_OPT_IN_INDEX])
        # Still Nova's, still never synced by this project.
        self.assertEqual(migration.NOVA,
                         migration.schema_state(self.engine).kind)
        self.assertFalse(migration.nova_index(create=True,
                                              engine=self.engine))
        code, out, err = self._run('db', 'index', 'drop')
        self.assertEqual((0, ''), (code, err))
        self.assertFalse(migration.has_nova_index(self.engine))
        self.assertEqual(before, snapshot(self.engine))

    def test_host_topic_conflict_one_line(self):
        exc = self.assertRaises(
            exception.ServiceTopicExists, db_api.service_create,
            self.context, {'host': 'host1', 'binary': 'nova-other',
                           'topic': 'compute', 'version': 1})
        self.assertEqual(
            'A live service record of host host1 with topic compute '
            'already exists (unique key on host, topic and deleted): one '
            'service per host and topic.', str(exc))


class SchemaCheckTestsMixin(object):
    """The upgrade check's schema check, on the database of the test."""

    def _schema_check(self):
        result = status.UpgradeChecks(context=self.context)._check_schema()
        return result.code, result.details

    def test_nova_database_schema_check_succeeds(self):
        engine = self.db.engine
        with engine.begin() as connection:
            connection.execute(sa.text('DROP TABLE %s'
                                       % migration.VERSION_TABLE))
        make_nova_like(engine)
        code, details = self._schema_check()
        self.assertEqual(status.Code.SUCCESS, code)
        self.assertIn('The services table belongs to Nova', details)

    def test_legacy_revision_schema_check_warns(self):
        engine = self.db.engine
        with engine.begin() as connection:
            connection.execute(sa.text('DROP TABLE %s'
                                       % migration.VERSION_TABLE))
        with engine.begin() as connection:
            alembic_command.stamp(migration._alembic_config(
                connection,
                version_table=migration.LEGACY_VERSION_TABLE), 'head')
        code, details = self._schema_check()
        self.assertEqual(status.Code.WARNING, code)
        self.assertIn('db sync moves it to nova_versioning_alembic_version',
                      details)


class MigrationSQLiteTestCase(MigrationTestsMixin, base.DBTestCase):
    pass


class NovaWritesSQLiteTestCase(NovaWritesTestsMixin, base.DBTestCase):
    pass


class SchemaCheckSQLiteTestCase(SchemaCheckTestsMixin, base.DBTestCase):
    pass
