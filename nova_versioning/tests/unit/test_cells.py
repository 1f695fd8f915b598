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
"""The minimum version across Nova's cells ([api_database]).

An API database with a ``cell_mappings`` table (cell0 mapped to a database
that does not exist, so that reading it would fail), two cells with
services schemas, records of mixed versions across them. On SQLite here;
on MariaDB and PostgreSQL in ``tests/functional/test_cells_db.py``, and
against Nova's own databases in the nova-interop tests.
"""

import datetime
import json
import os
import subprocess
import sys

import fixtures
from oslo_utils import timeutils
import sqlalchemy as sa

from nova_versioning import cells
from nova_versioning.cmd import manage
from nova_versioning.cmd import status
from nova_versioning.compute import rpcapi as compute_rpcapi
from nova_versioning.db import migration
from nova_versioning.db import models
from nova_versioning import exception
from nova_versioning import guards
from nova_versioning import objects
from nova_versioning import pinreport
from nova_versioning.tests import base
from nova_versioning.tests.unit.rpc import fakes

C = 'nova-compute'
D = 'nova-conductor'

# Nothing listens there: a cell that does not answer.
CLOSED_PORT_URL = 'mysql+pymysql://nobody:secret@127.0.0.1:9/nova_cell'

MAPPINGS = sa.Table(
    'cell_mappings', sa.MetaData(),
    sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
    sa.Column('uuid', sa.String(36), nullable=False),
    sa.Column('name', sa.String(255)),
    sa.Column('transport_url', sa.Text()),
    sa.Column('database_connection', sa.Text()))

CELL1_UUID = '11111111-1111-1111-1111-111111111111'
CELL2_UUID = '22222222-2222-2222-2222-222222222222'


class CellsTestsMixin(object):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(180, gentle=True))
        self.api_url = self._database()
        self.cell_urls = {'cell1': self._database(),
                          'cell2': self._database()}
        self.api_engine = self._engine(self.api_url)
        MAPPINGS.create(self.api_engine)
        self._map(cells.CELL0_UUID, 'cell0',
                  'sqlite:////nonexistent/cell0.sqlite')
        self._map(CELL1_UUID, 'cell1', self.cell_urls['cell1'])
        self._map(CELL2_UUID, 'cell2', self.cell_urls['cell2'])
        for url in self.cell_urls.values():
            migration.db_sync(engine=self._engine(url))
        self.now = timeutils.utcnow().replace(microsecond=0)
        self._add('cell1', 'cpu1', C, 6)
        self._add('cell1', 'cpu2', C, 7)
        self._add('cell1', 'ctl1', D, 7)
        self._add('cell2', 'cpu3', C, 5)
        self._add('cell2', 'cpu4', C, 5)
        self._add('cell2', 'cpu-down', C, 3, forced_down=True)
        self._add('cell2', 'cpu-gone', C, 2, deleted=True)
        self.flags(connection=self.api_url, group='api_database')
        self.flags(timeout=30, group='cells')
        self.addCleanup(cells.ENGINES.dispose)

    def _database(self):
        if self.BACKEND == 'sqlite':
            tmp = self.useFixture(fixtures.TempDir()).path
            return 'sqlite:///%s' % os.path.join(tmp, 'db.sqlite')
        return self.provision_database()

    def _engine(self, url):
        engine = sa.create_engine(url)
        self.addCleanup(engine.dispose)
        return engine

    def _map(self, uuid, name, url):
        with self.api_engine.begin() as connection:
            connection.execute(MAPPINGS.insert(), {
                'uuid': uuid, 'name': name, 'database_connection': url,
                'transport_url': 'none:///'})

    def _add(self, cell, host, binary, version, forced_down=False,
             deleted=False):
        table = models.Service.__table__
        with self._engine(self.cell_urls[cell]).begin() as connection:
            result = connection.execute(table.insert(), {
                'host': host, 'binary': binary, 'topic': binary[5:],
                'version': version, 'forced_down': forced_down,
                'disabled': False, 'report_count': 1, 'deleted': 0,
                'uuid': '%s-%s' % (cell, host), 'created_at': self.now,
                'last_seen_up': self.now})
            if deleted:
                ident = result.inserted_primary_key[0]
                connection.execute(table.update().where(
                    table.c.id == ident).values(deleted=ident))

    def _close_a_cell(self):
        self._map('33333333-3333-3333-3333-333333333333', 'cell3',
                  CLOSED_PORT_URL)

    # -- lookups ---------------------------------------------------------

    def test_cells_skip_cell0(self):
        self.assertEqual(['cell1', 'cell2'],
                         [c.name for c in cells.get_cells(self.conf)])

    def test_minimum_across_cells(self):
        self.assertEqual({C: 5, D: 7, 'nova-scheduler': 0},
                         cells.minimum_versions(
                             self.conf, [C, D, 'nova-scheduler']))

    def test_service_object_reads_every_cell(self):
        self.assertEqual(5, objects.Service.get_minimum_version(
            self.context, C))
        self.assertEqual(
            ['cpu3', 'cpu4'],
            sorted(s.host for s in objects.Service.get_all_at_minimum_version(
                self.context, C)))

    def test_stale_policy_across_cells(self):
        old = self.now - datetime.timedelta(hours=1)
        table = models.Service.__table__
        with self._engine(self.cell_urls['cell2']).begin() as connection:
            connection.execute(table.update().where(
                table.c.version == 5).values(last_seen_up=old))
        self.flags(stale_service_timeout=600, group='versioning')
        self.assertEqual(6, objects.Service.get_minimum_version(
            self.context, C, fresh=True))

    def test_unanswered_cell_holds_by_default(self):
        self._close_a_cell()
        exc = self.assertRaises(exception.CellsUnanswered,
                                cells.minimum_versions, self.conf, [C])
        self.assertIn('cell cell3 (mysql+pymysql://nobody:***@127.0.0.1:9/'
                      'nova_cell)', str(exc))
        self.assertNotIn('secret', str(exc))
        self.assertEqual(1, len(str(exc).splitlines()))

    def test_unanswered_cell_ignored_with_warning(self):
        self._close_a_cell()
        self.flags(unanswered_cell='ignore', group='cells')
        logs = self.useFixture(fixtures.FakeLogger(level='WARNING'))
        self.assertEqual({C: 5}, cells.minimum_versions(self.conf, [C]))
        self.assertIn('Cell cell3 did not answer and is left out',
                      logs.output)

    def _template_of(self, url):
        """``url`` as a template that [database]/connection = url fills."""
        scheme, rest = url.split('://', 1)
        path = rest.split('/', 1)[1].split('?')[0].lstrip('/')
        return '{scheme}://' + rest.replace(path, '{path}', 1)

    def _remap_cell2(self, database_connection):
        with self.api_engine.begin() as connection:
            connection.execute(MAPPINGS.update().where(
                MAPPINGS.c.uuid == CELL2_UUID).values(
                database_connection=database_connection))

    def test_templated_cell_url_filled_in_as_nova_does(self):
        self._remap_cell2(self._template_of(self.cell_urls['cell2']))
        self.flags(connection=self.cell_urls['cell2'], group='database')
        cell2 = [c for c in cells.get_cells(self.conf) if c.name == 'cell2']
        self.assertEqual([(self.cell_urls['cell2'], None)],
                         [(c.url, c.problem) for c in cell2])
        # cpu3 and cpu4, version 5, are only in cell2.
        self.assertEqual({C: 5}, cells.minimum_versions(self.conf, [C]))

    def test_templated_cell_url_without_database_connection(self):
        self._remap_cell2(self._template_of(self.cell_urls['cell2']))
        self.flags(connection=None, group='database')
        exc = self.assertRaises(exception.CellsUnanswered,
                                cells.minimum_versions, self.conf, [C])
        self.assertIn('cell cell2', str(exc))
        self.assertIn('is a template and [database]/connection is not set',
                      str(exc))
        self.assertEqual(1, len(str(exc).splitlines()))
        self.flags(unanswered_cell='ignore', group='cells')
        self.assertEqual({C: 6}, cells.minimum_versions(self.conf, [C]))

    def test_pinned_client_keeps_last_good_cap_on_hold(self):
        transport = self.useFixture(fakes.FakeTransport(self.conf)).transport
        self.flags(compute='auto', group='upgrade_levels')
        api = compute_rpcapi.ComputeAPI(transport, conf=self.conf)
        held = api.resolve(self.context, fresh=True)
        self.assertEqual(5, held.minimum_version)
        # cell2's computes are upgraded, but a new cell does not answer:
        # it may hold older computes, so the pin is not lifted.
        table = models.Service.__table__
        with self._engine(self.cell_urls['cell2']).begin() as connection:
            connection.execute(table.update().where(
                table.c.binary == C).values(version=7))
        self._close_a_cell()
        exc = self.assertRaises(exception.CellsUnanswered, api.resolve,
                                self.context, fresh=True)
        self.assertIn('cell cell3', str(exc))
        self.assertEqual(held, api.decision)
        # ignore: decided without it, as Nova does.
        self.flags(unanswered_cell='ignore', group='cells')
        self.assertEqual(6, api.resolve(self.context,
                                        fresh=True).minimum_version)

    def test_pins_report_names_cells(self):
        report = pinreport.Fleet.load(self.context, conf=self.conf).report()
        compute = [a for a in report['apis'] if a['api'] == 'compute'][0]
        self.assertEqual(5, compute['minimum_version'])
        self.assertEqual(
            [('cpu3', 'cell2'), ('cpu4', 'cell2')],
            [(h['host'], h['cell']) for h in compute['at_minimum']])
        self.assertEqual([('cpu-down', 'cell2')],
                         [(h['host'], h['cell'])
                          for h in compute['forced_down']])

    def test_what_if_across_cells(self):
        fleet = pinreport.Fleet.load(self.context, conf=self.conf)
        after = fleet.what_if(upgraded=['cpu3', 'cpu4'])
        self.assertEqual(6, after.minimum(C))
        self.assertEqual(['cpu1'], [r.host for r in after.at_minimum(C)])

    def test_guard_2_across_cells(self):
        self._add('cell2', 'cpu-ancient', C, 3)
        exc = self.assertRaises(
            exception.TooOldComputeService,
            guards.check_oldest_supported_computes, self.context,
            'nova-conductor', self.conf)
        self.assertIn('cpu-ancient in cell2 (version 3', str(exc))

    def test_upgrade_check_old_computes_across_cells(self):
        self._add('cell2', 'cpu-ancient', C, 3)
        result = status.UpgradeChecks(context=self.context,
                                      conf=self.conf)._check_old_computes()
        self.assertEqual(status.Code.FAILURE, result.code)
        self.assertIn('cpu-ancient in cell cell2 (version 3', result.details)

    def test_service_list_by_cell(self):
        listed = manage.ServiceCommands.list_records(
            self.context, conf=self.conf, cell='cell2')
        self.assertEqual(
            [('cpu-down', 'cell2'), ('cpu3', 'cell2'), ('cpu4', 'cell2')],
            [(r['host'], r['cell']) for r in listed])
        listed = manage.ServiceCommands.list_records(
            self.context, conf=self.conf, cell=CELL1_UUID)
        self.assertEqual(['cpu1', 'cpu2', 'ctl1'],
                         sorted(r['host'] for r in listed))
        exc = self.assertRaises(
            exception.CellNotFound, manage.ServiceCommands.list_records,
            self.context, conf=self.conf, cell='cell9')
        self.assertEqual("No cell named 'cell9' in cell_mappings (cells: "
                         "cell1, cell2).", str(exc))

    # -- the commands, as real processes ---------------------------------

    def _run(self, module, *args, api=True):
        tmp = self.useFixture(fixtures.TempDir()).path
        conf = os.path.join(tmp, 'nv.conf')
        with open(conf, 'w') as f:
            f.write('[database]\nconnection = %s\n' % self.cell_urls['cell1'])
            if api:
                f.write('[api_database]\nconnection = %s\n' % self.api_url)
        script = ('import sys; import nova_versioning.cmd as m; '
                  'sys.exit(m.%s_main())' % module)
        proc = subprocess.run(
            [sys.executable, '-c', script, '--config-file', conf] +
            list(args), capture_output=True, text=True, timeout=120,
            cwd=tmp)
        return proc.returncode, proc.stdout, proc.stderr

    def test_cli_pins_json_and_service_list(self):
        code, out, err = self._run('status', 'pins', '--format', 'json')
        self.assertEqual(0, code, err)
        compute = [a for a in json.loads(out)['apis']
                   if a['api'] == 'compute'][0]
        self.assertEqual(['cell2', 'cell2'],
                         [h['cell'] for h in compute['at_minimum']])
        code, out, err = self._run('status', 'pins')
        self.assertEqual(0, code, err)
        self.assertIn('cpu3 (cell2), cpu4 (cell2)', out)
        code, out, err = self._run('manage', 'service', 'list', '--cell',
                                   'cell1')
        self.assertEqual(0, code, err)
        self.assertEqual(['HOST', 'CELL'], out.split()[:2])
        self.assertEqual(5, len(out.splitlines()), out)

    def test_cli_cell_without_api_database_one_line(self):
        code, out, err = self._run('manage', 'service', 'list', '--cell',
                                   'cell1', api=False)
        self.assertEqual((1, ''), (code, out))
        self.assertEqual(1, len(err.splitlines()), err)
        self.assertIn('[api_database]/connection', err)

    def test_cli_pins_unanswered_cell_one_line(self):
        self._close_a_cell()
        code, out, err = self._run('status', 'pins')
        self.assertEqual((1, ''), (code, out))
        self.assertEqual(1, len(err.splitlines()), err)
        self.assertIn('cell cell3', err)


class CellsSQLiteTestCase(CellsTestsMixin, base.DBTestCase):
    pass


class CellURLTemplateTestCase(base.TestCase):
    """Cell mapping URLs filled in from [database]/connection."""

    def _url(self, template, local):
        self.flags(connection=local, group='database')
        return cells.cell_url(template, self.conf)

    def test_plain_url_unchanged(self):
        self.assertEqual(('mysql://a:b@h/nova', None),
                         self._url('mysql://a:b@h/nova', None))

    def test_every_part(self):
        self.assertEqual(
            ('mysql+pymysql://nova:pw@db1:3307/nova_cell2?charset=utf8',
             None),
            self._url('{scheme}://{username}:{password}@{hostname}:{port}'
                      '/{path}_cell2?{query}',
                      'mysql+pymysql://nova:pw@db1:3307/nova?charset=utf8'))

    def test_several_hosts_numbered(self):
        self.assertEqual(
            ('postgresql://u2:p2@h2/cell', None),
            self._url('postgresql://{username2}:{password2}@{hostname2}/cell',
                      'postgresql://u1:p1@h1,u2:p2@h2/nova'))

    def test_unknown_name_is_a_problem_not_a_crash(self):
        url, problem = self._url('{scheme}://{nothing}/x',
                                 'sqlite:////tmp/x.db')
        self.assertEqual('{scheme}://{nothing}/x', url)
        self.assertIn('could not be filled in from [database]/connection',
                      problem)

    def test_malformed_template(self):
        url, problem = self._url('{scheme://x', 'sqlite:////tmp/x.db')
        self.assertIsNotNone(problem)
