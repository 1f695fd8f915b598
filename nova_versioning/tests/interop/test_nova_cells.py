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
"""This project on Nova's own databases: every cell, nothing altered.

One Nova deployment per backend (API database, cell0, two cells, made by
nova-manage; see :mod:`.base`), records made by Nova's objects with mixed
versions across the cells; the test classes, one per backend, are in
:mod:`.test_nova_db`. The project's side runs in this
process (the library) and as its console scripts; Nova's in children.
"""

import json
import os
import subprocess
import sys
from urllib import parse as urlparse

from oslo_config import cfg
import sqlalchemy as sa

from nova_versioning import cells
from nova_versioning.conf import cells as cells_conf
from nova_versioning.conf import database as database_conf
from nova_versioning.db import migration
from nova_versioning import exception
from nova_versioning import history as nv_history
from nova_versioning.rpc import pinning

C = 'nova-compute'

# Nothing listens there.
CLOSED_PORT_URLS = {
    'mysql': 'mysql+pymysql://nobody:secret@127.0.0.1:9/nova_cell9',
    'postgresql': 'postgresql+psycopg2://nobody:secret@127.0.0.1:9/'
                  'nova_cell9',
}
CELL9_UUID = '99999999-9999-9999-9999-999999999999'

SERVICES = [
    # cell1: upgraded, plus a forced-down and a deleted old one.
    dict(cell='cell1', host='cpu1', binary=C),
    dict(cell='cell1', host='cpu2', binary=C, version=70),
    dict(cell='cell1', host='ctl1', binary='nova-conductor'),
    dict(cell='cell1', host='cpu-down', binary=C, version=60,
         forced_down=True),
    dict(cell='cell1', host='cpu-gone', binary=C, version=50, deleted=True),
    # cell2: the oldest counted computes.
    dict(cell='cell2', host='cpu3', binary=C, version=67),
    dict(cell='cell2', host='cpu4', binary=C, version=67),
]


def nova_history(exported):
    """Nova's history as a VersionHistory of this project.

    Release names that share a service version with a later one are
    left out (a VersionHistory wants them increasing).
    """
    by_version = {}
    for name, version in exported['aliases'].items():
        by_version[version] = name.lower()
    releases = {name: version for version, name in sorted(by_version.items())}
    return nv_history.VersionHistory(
        'nova', exported['history'], releases,
        exported['oldest_supported'].lower())


class NovaCellsTestsMixin(object):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if cls.deployment is None:
            return
        cls.deployment.clear_services()
        cls.deployment.create_services(SERVICES)
        cls.nova_minimum = cls.deployment.nova('minimum', '--binary', C)
        cls.exported_history = cls.deployment.nova('history')

    def setUp(self):
        super().setUp()
        self.conf = cfg.ConfigOpts()
        cells_conf.register_opts(self.conf)
        self.conf([], project='nova_versioning_interop')
        self.conf.set_override('connection', self.deployment.api_url,
                               group='api_database')
        self.conf.set_override('timeout', 60, group='cells')
        self.addCleanup(cells.ENGINES.dispose)

    # -- the project's scripts ---------------------------------------------

    def _conf_file(self, **sections):
        path = os.path.join(self.deployment.tmp, 'nv-%s.conf' % self.id())
        lines = ['[database]',
                 'connection = %s' % self.deployment.cell_urls['cell1'],
                 '[api_database]',
                 'connection = %s' % self.deployment.api_url]
        for section, options in sections.items():
            lines.append('[%s]' % section)
            lines.extend('%s = %s' % item for item in options.items())
        with open(path, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        return path

    def _run(self, script, *args, conf_file=None):
        module = {'manage': 'manage', 'status': 'status'}[script]
        code = ('import sys; import nova_versioning.cmd as m; '
                'sys.exit(m.%s_main())' % module)
        proc = subprocess.run(
            [sys.executable, '-c', code, '--config-file',
             conf_file or self._conf_file()] + list(args),
            capture_output=True, text=True, timeout=300,
            stdin=subprocess.DEVNULL)
        return proc.returncode, proc.stdout, proc.stderr

    # -- every cell, as Nova ------------------------------------------------

    def test_minimum_cap_and_hosts_equal_novas(self):
        self.assertEqual(67, self.nova_minimum['minimum'])
        minimum = cells.minimum_versions(self.conf, [C])[C]
        self.assertEqual(self.nova_minimum['minimum'], minimum)
        holding = cells.at_minimum_version(self.conf, C)
        hosts = sorted([r.cell, r.host] for r in holding)
        self.assertEqual(self.nova_minimum['hosts'], hosts)
        decision = pinning.resolve(
            'compute', pinning.AUTO, nova_history(self.exported_history),
            minimum_version=minimum, hosts=[r.host for r in holding],
            binary=C, newer_receivers_expected=False)
        self.assertEqual(self.nova_minimum['cap'], decision.cap)

    def test_service_list_by_cell(self):
        code, out, err = self._run('manage', 'service', 'list', '--cell',
                                   'cell2', '--format', 'json')
        self.assertEqual(0, code, err)
        self.assertEqual([('cell2', 'cpu3'), ('cell2', 'cpu4')],
                         [(r['cell'], r['host']) for r in json.loads(out)])

    # -- a cell that does not answer ---------------------------------------

    def _map_closed_cell(self):
        engine = sa.create_engine(self.deployment.api_url)
        self.addCleanup(engine.dispose)
        mappings = sa.table('cell_mappings', sa.column('uuid'),
                            sa.column('name'), sa.column('transport_url'),
                            sa.column('database_connection'),
                            sa.column('disabled'))
        with engine.begin() as connection:
            connection.execute(mappings.insert(), {
                'uuid': CELL9_UUID, 'name': 'cell9',
                'transport_url': 'fake:///cell9', 'disabled': False,
                'database_connection': CLOSED_PORT_URLS[self.DB_KIND]})

        def unmap():
            with engine.begin() as connection:
                connection.execute(mappings.delete().where(
                    mappings.c.uuid == CELL9_UUID))
        self.addCleanup(unmap)

    def test_closed_cell_policies(self):
        self._map_closed_cell()
        # hold (the default): no decision on partial data, the cell named.
        exc = self.assertRaises(exception.CellsUnanswered,
                                cells.minimum_versions, self.conf, [C])
        self.assertIn('cell cell9', str(exc))
        code, out, err = self._run('status', 'pins')
        self.assertEqual((1, ''), (code, out))
        self.assertIn('cell cell9', err)
        self.assertEqual(1, len(err.splitlines()), err)
        # ignore: left out, as Nova does.
        self.conf.set_override('unanswered_cell', 'ignore', group='cells')
        self.assertEqual({C: 67}, cells.minimum_versions(self.conf, [C]))
        self.assertEqual(
            67, self.deployment.nova('minimum', '--binary', C)['minimum'])

    def test_templated_cell_mapping_read_as_nova_reads_it(self):
        # cell2's mapping becomes a template that Nova, and the project,
        # fill in from [database]/connection (cell1's URL in both).
        cell1 = urlparse.urlsplit(self.deployment.cell_urls['cell1'])
        cell2_name = urlparse.urlsplit(
            self.deployment.cell_urls['cell2']).path.lstrip('/')
        template = '{scheme}://{username}:{password}@{hostname}%s/%s%s' % (
            ':{port}' if cell1.port else '', cell2_name,
            '?{query}' if cell1.query else '')
        engine = sa.create_engine(self.deployment.api_url)
        self.addCleanup(engine.dispose)
        mappings = sa.table('cell_mappings', sa.column('name'),
                            sa.column('database_connection'))

        def remap(url):
            with engine.begin() as connection:
                connection.execute(mappings.update().where(
                    mappings.c.name == 'cell2').values(
                    database_connection=url))
        remap(template)
        self.addCleanup(remap, self.deployment.cell_urls['cell2'])
        database_conf.register_opts(self.conf)
        self.conf.set_override('connection',
                               self.deployment.cell_urls['cell1'],
                               group='database')
        nova = self.deployment.nova('minimum', '--binary', C)
        self.assertEqual(67, nova['minimum'])
        self.assertEqual({C: nova['minimum']},
                         cells.minimum_versions(self.conf, [C]))
        self.assertEqual(nova['hosts'], sorted(
            [r.cell, r.host] for r in cells.at_minimum_version(self.conf, C)))

    # -- Nova's databases as they are ---------------------------------------

    def test_read_only_commands_change_nothing(self):
        before = self.deployment.checksums()
        for script, args in (
                ('manage', ['db', 'version']),
                ('manage', ['db', 'sync']),
                ('manage', ['service', 'list']),
                ('manage', ['service', 'list', '--cell', 'cell2']),
                ('status', ['pins']),
                ('status', ['pins', '--format', 'json']),
                ('status', ['pins', '--assume-upgraded', 'cpu3']),
                ('status', ['upgrade', 'check', '--json'])):
            code, out, err = self._run(script, *args)
            self.assertNotIn('Traceback', err, (script, args))
        self.assertEqual(before, self.deployment.checksums())

    def test_schema_recognised_in_one_line(self):
        code, out, err = self._run('manage', 'db', 'sync')
        self.assertEqual(0, code, err)
        self.assertEqual(1, len(out.splitlines()), out)
        self.assertIn('Nothing to do: the services table belongs to Nova',
                      out)
        code, out, err = self._run('status', 'upgrade', 'check', '--json')
        schema = self._schema_check(out)
        self.assertEqual(0, schema['result'], out)
        self.assertIn('belongs to Nova', schema['details'])
        engine = sa.create_engine(self.deployment.cell_urls['cell1'])
        self.addCleanup(engine.dispose)
        self.assertEqual(migration.NOVA,
                         migration.schema_state(engine).kind)

    @staticmethod
    def _schema_check(out):
        for check in json.loads(out)['checks']:
            if 'schema' in check.get('check', '').lower():
                return check
        raise AssertionError('no schema check in %s' % out)

    def test_writes_then_nova_tools_succeed(self):
        code, out, err = self._run('manage', 'service', 'delete', 'cpu1', C)
        self.assertEqual((1, ''), (code, out))
        self.assertIn('openstack compute service delete', err)
        code, out, err = self._run('manage', 'service', 'force-down',
                                   'cpu2', C)
        self.assertEqual(0, code, err)
        code, out, err = self._run('manage', 'service', 'force-down',
                                   'cpu2', C, '--unset')
        self.assertEqual(0, code, err)
        # The opt-in index, on cell1 ([database]); dropped at the end.
        code, out, err = self._run('manage', 'db', 'index', 'create')
        self.assertEqual(0, code, err)
        self.addCleanup(self._run, 'manage', 'db', 'index', 'drop')
        engine = sa.create_engine(self.deployment.cell_urls['cell1'])
        self.addCleanup(engine.dispose)
        self.assertTrue(migration.has_nova_index(engine))
        # Nova's own tools after the project's commands.
        self.deployment.nova_manage('db', 'sync')
        self.deployment.nova_manage('api_db', 'sync')
        code, out, err = self.deployment.nova_status('upgrade', 'check')
        # 0 success, 1 warning, 2 failure: checks that ran (this deployment
        # has no placement service, and old computes on purpose); 255
        # would be an error running them.
        self.assertIn(code, (0, 1, 2), out + err)
        # The check that reads the API database and the cells' mappings.
        self.assertEqual('Success', _result_of(out, 'Cells v2'), out)


def _result_of(table, check):
    """The result of one check in oslo.upgradecheck's results table."""
    lines = table.splitlines()
    for index, line in enumerate(lines):
        if line.strip('| ').strip() == 'Check: %s' % check:
            for following in lines[index + 1:]:
                text = following.strip('| ').strip()
                if text.startswith('Result: '):
                    return text[len('Result: '):]
    return None
