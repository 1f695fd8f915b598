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
"""The console scripts as an operator meets them, as real processes.

One convention (global options anywhere, --format everywhere, the
documented exit codes), no file created by a read-only command, one line
on stdout for manage's answers, no eventlet warning, and the driver
extras.
"""

import ast
from importlib import metadata
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import fixtures
from oslo_config import cfg
import sqlalchemy.engine.url as sa_url

from nova_versioning.cmd import cli
from nova_versioning.db import drivers
from nova_versioning.grenade import svg
from nova_versioning.tests import base
from nova_versioning.tests.unit.cmd import test_status
from nova_versioning.tests.unit import test_grenade

BIN_DIR = os.path.dirname(sys.executable)
MANAGE = 'nova-versioning-manage'
STATUS = 'nova-versioning-status'


class CLITestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        # Where the default state_path would put the default database.
        self.state = os.path.join(self.tmp, 'state')
        self.db = os.path.join(self.tmp, 'nv.sqlite')
        self.conf = os.path.join(self.tmp, 'nv.conf')
        with open(self.conf, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\n[database]\n'
                    'connection = sqlite:///%s\n' % (self.tmp, self.db))

    def run_script(self, script, *args, env=None):
        environ = dict(os.environ, HOME=self.tmp)
        environ.update(env or {})
        proc = subprocess.run([os.path.join(BIN_DIR, script)] + list(args),
                              capture_output=True, text=True, timeout=120,
                              cwd=self.tmp, env=environ)
        return proc.returncode, proc.stdout, proc.stderr

    def sync(self):
        code, out, err = self.run_script(MANAGE, '--config-file', self.conf,
                                         'db', 'sync')
        self.assertEqual(0, code, err)

    def test_read_only_commands_create_nothing(self):
        default_conf = os.path.join(self.tmp, 'default.conf')
        with open(default_conf, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\n' % self.state)
        for script, args, expected in (
                (STATUS, ['pins'], cli.EXIT_ERROR),
                (STATUS, ['upgrade', 'check'], cli.EXIT_NOT_CHECKED),
                (MANAGE, ['service', 'list'], cli.EXIT_ERROR),
                (MANAGE, ['db', 'version'], cli.EXIT_ERROR)):
            code, out, err = self.run_script(
                script, '--config-file', default_conf, *args)
            self.assertEqual(expected, code, err)
            self.assertEqual('', out)
            lines = err.splitlines()
            self.assertEqual(1, len(lines), err)
            self.assertIn('[database]/connection is needed', lines[0])
            self.assertIn('--config-file %s' % default_conf, lines[0])
            self.assertFalse(os.path.exists(self.state), args)

    def test_reader_gone_is_a_quiet_exit(self):
        # "pins | head": the reader has gone before the command writes.
        self.sync()
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            proc = subprocess.run(
                [os.path.join(BIN_DIR, STATUS), '--config-file', self.conf,
                 'pins'], stdout=write_end, stderr=subprocess.PIPE,
                text=True, timeout=120, cwd=self.tmp,
                env=dict(os.environ, HOME=self.tmp))
        finally:
            os.close(write_end)
        self.assertEqual((1, ''), (proc.returncode, proc.stderr))

    def test_global_options_after_the_subcommand(self):
        self.sync()
        for args in (['--config-file', self.conf, 'pins'],
                     ['pins', '--config-file', self.conf],
                     ['pins', '--config-file=%s' % self.conf, '--format',
                      'json']):
            code, out, err = self.run_script(STATUS, *args)
            self.assertEqual(0, code, err)
            self.assertEqual('', err)
        self.assertIn('apis', json.loads(out))
        code, out, err = self.run_script(MANAGE, 'service', 'list',
                                         '--config-dir', self.tmp)
        self.assertEqual((0, ''), (code, err))

    def test_upgrade_check_format_json_and_json_alias(self):
        self.sync()
        outputs = []
        for flag in (['--format', 'json'], ['--json']):
            code, out, err = self.run_script(
                STATUS, 'upgrade', 'check', '--config-file', self.conf,
                *flag)
            self.assertEqual((0, ''), (code, err))
            outputs.append(json.loads(out))
        self.assertEqual(outputs[0], outputs[1])
        code, out, err = self.run_script(
            STATUS, 'upgrade', 'check', '--config-file', self.conf)
        self.assertIn('nova-versioning upgrade check results', out)

    def test_manage_answers_on_stdout_only(self):
        code, out, err = self.run_script(MANAGE, 'db', 'sync',
                                         '--config-file', self.conf)
        self.assertEqual((0, ''), (code, err))
        self.assertEqual(1, len(out.splitlines()), out)
        code, out, err = self.run_script(MANAGE, 'db', 'version',
                                         '--config-file', self.conf)
        self.assertEqual((0, ''), (code, err))
        self.assertEqual(1, len(out.splitlines()), out)
        code, out, err = self.run_script(MANAGE, 'db', 'version',
                                         '--format', 'json',
                                         '--config-file', self.conf)
        self.assertEqual((0, ''), (code, err))
        answer = json.loads(out)
        self.assertEqual(answer['newest'], answer['current'])

    def test_unknown_binary_hint(self):
        self.sync()
        code, out, err = self.run_script(
            MANAGE, '--config-file', self.conf, 'service', 'list',
            '--binary', 'nova-computer')
        self.assertEqual(cli.EXIT_ERROR, code)
        self.assertEqual('', out)
        lines = err.splitlines()
        self.assertEqual(1, len(lines), err)
        self.assertIn('did you mean nova-compute?', lines[0])
        self.assertIn('nova-conductor', lines[0])
        # A known binary with no record yet: an empty table, no error.
        code, out, err = self.run_script(
            MANAGE, '--config-file', self.conf, 'service', 'list',
            '--binary', 'nova-scheduler')
        self.assertEqual((0, ''), (code, err))

    def test_bad_integer_is_an_operator_error(self):
        with open(self.conf, 'a') as f:
            f.write('[versioning]\nstale_service_timeout = abc\n')
        code, out, err = self.run_script(STATUS, 'pins', '--config-file',
                                         self.conf)
        self.assertEqual(cli.EXIT_ERROR, code)
        self.assertEqual(1, len(err.splitlines()), err)
        self.assertIn('[versioning]/stale_service_timeout', err)

    def test_usage_error_exit_code(self):
        code, out, err = self.run_script(STATUS, 'pinz')
        self.assertEqual(cli.EXIT_FAILURE, code)
        self.assertEqual(1, len(err.splitlines()), err)

    def test_schema_advice_names_the_config_file(self):
        open(self.db, 'w').close()
        code, out, err = self.run_script(STATUS, 'pins', '--config-file',
                                         self.conf)
        self.assertEqual(cli.EXIT_ERROR, code)
        self.assertIn('nova-versioning-manage --config-file %s db sync'
                      % self.conf, err)
        self.assertNotIn('<file>', err)

    def test_bad_backend_is_one_line(self):
        code, out, err = self.run_script(
            STATUS, 'pins', env={'NOVA_VERSIONING_SERVICE_BACKEND': 'gevent'})
        self.assertEqual((cli.EXIT_ERROR, ''), (code, out))
        self.assertEqual(
            ["nova-versioning-status: error: NOVA_VERSIONING_SERVICE_BACKEND="
             "'gevent' is not valid: expected threading or eventlet"],
            err.splitlines())


class ImportTestCase(base.TestCase):
    """Importing a console script's entry point changes nothing."""

    SCRIPT = '''
import sys, warnings
before = list(warnings.filters)
import nova_versioning.cmd
from oslo_service import backend
print(backend._cached_backend_type is None, 'eventlet' in sys.modules,
      warnings.filters == before)
nova_versioning.cmd.select_backend()
import oslo_messaging, futurist
# Imported: a module in sys.modules (None marks it absent).
print(backend.get_backend_type().value,
      sys.modules.get('eventlet') is not None)
'''

    def test_import_has_no_side_effects(self):
        proc = subprocess.run([sys.executable, '-c', self.SCRIPT],
                              capture_output=True, text=True, timeout=120,
                              env=dict(os.environ,
                                       NOVA_VERSIONING_SERVICE_BACKEND=''))
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertEqual(['True False True', 'threading False'],
                         proc.stdout.splitlines())
        self.assertNotIn('Eventlet', proc.stderr)

    def test_status_help_prints_no_warning(self):
        proc = subprocess.run([os.path.join(BIN_DIR, STATUS), '--help'],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual((0, ''), (proc.returncode, proc.stderr))


class ControlExchangeTestCase(base.TestCase):
    """The sample services' exchange is this project's, not 'openstack'."""

    # A sample service's entry point, up to the point where it would make
    # its service: the transport it would use, and its exchange.
    SCRIPT = """
import sys
from nova_versioning import cmd
cmd.select_backend()
import oslo_messaging as messaging
from nova_versioning.cmd import %(module)s as script
from nova_versioning import service
def report(conf, **kwargs):
    transport = messaging.get_rpc_transport(conf, url='fake://')
    print(conf.control_exchange, transport._driver._default_exchange)
    sys.exit(0)
service.RPCService = report
script.main(sys.argv)
"""

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def _exchange(self, module, text=''):
        conf = os.path.join(self.tmp, 'nv.conf')
        with open(conf, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\n%s' % (self.tmp, text))
        proc = subprocess.run(
            [sys.executable, '-c', self.SCRIPT % {'module': module},
             '--config-file', conf],
            capture_output=True, text=True, timeout=120, cwd=self.tmp,
            env=dict(os.environ, HOME=self.tmp))
        self.assertEqual(0, proc.returncode, proc.stderr)
        return proc.stdout.split()

    def test_default_exchange_is_the_projects(self):
        for module in ('conductor', 'compute'):
            self.assertEqual(['nova_versioning', 'nova_versioning'],
                             self._exchange(module), module)

    def test_configured_exchange_wins(self):
        self.assertEqual(['other', 'other'], self._exchange(
            'compute', 'control_exchange = other\n'))


class DriversTestCase(base.TestCase):

    def test_missing_driver_names_the_extra(self):
        self.useFixture(fixtures.MockPatch(
            'nova_versioning.db.drivers._installed',
            side_effect=lambda module: module == 'sqlite3'))
        error = self.assertRaises(drivers.DriverMissing,
                                  drivers.check_driver,
                                  'postgresql+psycopg2://u:p@h/db')
        self.assertIn("pip install 'nova_versioning[postgresql]'",
                      str(error))
        error = self.assertRaises(drivers.DriverMissing,
                                  drivers.check_driver,
                                  'mysql+pymysql://u:p@h/db')
        self.assertIn("pip install 'nova_versioning[mysql]'", str(error))
        drivers.check_driver('sqlite:///x.sqlite')

    def test_plain_postgresql_uses_psycopg2_when_installed(self):
        drivers.use_installed_drivers()
        url = sa_url.make_url('postgresql://u:p@h/db')
        if drivers._installed('psycopg'):
            self.skipTest('psycopg is installed: SQLAlchemy uses it')
        self.assertEqual('psycopg2', url.get_dialect().driver)
        drivers.check_driver('postgresql://u:p@h/db')

    def test_extras_declared(self):
        root = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
        with open(os.path.join(root, 'setup.cfg')) as f:
            text = f.read()
        extras = text.split('[extras]', 1)[1].split('\n[', 1)[0]
        self.assertIn('mysql =\n    PyMySQL', extras)
        self.assertIn('postgresql =\n    psycopg2-binary', extras)


class HoistTestCase(base.TestCase):

    def test_no_subcommand_nothing_moves(self):
        conf = cfg.ConfigOpts()
        conf.register_cli_opt(cfg.StrOpt('mode'))
        args = ['--mode', 'embedded', '--config-file', 'x']
        self.assertEqual(args, cli.hoist_global_options(args, conf))

    def test_hoist(self):
        conf = cfg.ConfigOpts()
        conf.register_cli_opt(cfg.BoolOpt('debug', short='d'))
        conf.register_cli_opt(cfg.StrOpt('log-file'))
        conf.register_cli_opt(cfg.SubCommandOpt('command'))
        self.assertEqual(
            ['--config-file', 'a', '-d', '--log-file=x', 'pins', '--format',
             'json'],
            cli.hoist_global_options(
                ['--config-file', 'a', 'pins', '-d', '--format', 'json',
                 '--log-file=x'], conf))
        self.assertEqual(['pins'], cli.hoist_global_options(['pins'], conf))
        self.assertEqual(['--config-dir', 'd', 'service', 'list', '--binary',
                          'nova-compute'],
                         cli.hoist_global_options(
                             ['service', 'list', '--config-dir', 'd',
                              '--binary', 'nova-compute'], conf))


class TimelineTestCase(base.TestCase):

    REPORT = {
        'ok': True, 'releases': {'old': 'ocata', 'new': 'queens'},
        'stages': [
            {'stage': 1, 'name': 'all services at ocata, pins auto',
             'ok': True, 'controllers': 'ocata',
             'computes': {'cpu1': 'ocata'},
             'pins': {'api': '6.3', 'conductor': '6.3'},
             'sent': 10, 'answered': 10, 'rejected': 0, 'lost': 0},
            {'stage': 2, 'name': 'controllers reloaded & <checked>',
             'ok': False, 'controllers': 'queens',
             'computes': {'cpu1': 'queens'},
             'pins': {'api': '6.5', 'conductor': '6.3'},
             'sent': 20, 'answered': 17, 'rejected': 2, 'lost': 1,
             'problems': ['2 rejected']},
            {'stage': 3, 'name': 'conductor too', 'ok': True,
             'controllers': 'queens', 'computes': {'cpu1': 'queens'},
             'pins': {'api': '6.5', 'conductor': '6.5'},
             'sent': 5, 'answered': 5, 'rejected': 0, 'lost': 0}],
    }

    def test_svg_names_every_stage_and_cap_change(self):
        path = svg.write(self.REPORT, os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'report.svg'))
        root = ElementTree.parse(path).getroot()
        self.assertEqual('{http://www.w3.org/2000/svg}svg', root.tag)
        texts = ' '.join(''.join(element.itertext())
                         for element in root.iter(
                             '{http://www.w3.org/2000/svg}text'))
        for stage in self.REPORT['stages']:
            self.assertIn('Stage %d' % stage['stage'], texts)
            self.assertIn(stage['name'][:20], texts)
        changes = svg.cap_changes(self.REPORT)
        self.assertEqual([(2, 'compute', 'api', '6.3', '6.5'),
                          (3, 'compute', 'conductor', '6.3', '6.5')],
                         changes)
        for _stage, _api, _sender, old, new in changes:
            self.assertIn('%s \u2192 %s' % (old, new), texts)
        for word in ('sent 20', 'rejected 2', 'lost 1'):
            self.assertIn(word, texts)
        # Compute caps only (a report of the job with real Nova): no row
        # for the APIs it does not record.
        self.assertEqual(
            {'Stage 1, compute cap (API)': '6.3',
             'Stage 2, compute cap (API)': '6.3 \u2192 6.5',
             'Stage 3, compute cap (API)': '6.5',
             'Stage 1, compute cap (conductor)': '6.3',
             'Stage 2, compute cap (conductor)': '6.3',
             'Stage 3, compute cap (conductor)': '6.3 \u2192 6.5'},
            test_grenade.svg_cells(root))

    def test_svg_shows_the_cap_of_every_api(self):
        report = {'ok': True, 'releases': {'old': 'ocata', 'new': 'queens'},
                  'stages': []}
        caps = [('6.3', '6.3', '3.1', '2.1'), ('6.3', '6.3', '3.2', '2.2'),
                ('6.5', '6.5', '3.2', '2.2')]
        for number, (api, cond, conductor, scheduler) in enumerate(caps, 1):
            report['stages'].append(
                {'stage': number, 'name': 'stage %d' % number, 'ok': True,
                 'pins': {'api': api, 'conductor': cond},
                 'caps': {'compute': {'api': api, 'conductor': cond},
                          'conductor': {'api': conductor},
                          'scheduler': {'conductor': scheduler}},
                 'sent': 1, 'answered': 1, 'rejected': 0, 'lost': 0})
        root = ElementTree.fromstring(svg.render(report))
        self.assertEqual(
            [(2, 'conductor', 'api', '3.1', '3.2'),
             (2, 'scheduler', 'conductor', '2.1', '2.2'),
             (3, 'compute', 'api', '6.3', '6.5'),
             (3, 'compute', 'conductor', '6.3', '6.5')],
            svg.cap_changes(report))
        cells = test_grenade.svg_cells(root)
        for where, shown in (
                ('Stage 1, conductor cap (API)', '3.1'),
                ('Stage 2, conductor cap (API)', '3.1 \u2192 3.2'),
                ('Stage 3, scheduler cap (conductor)', '2.2'),
                ('Stage 2, scheduler cap (conductor)', '2.1 \u2192 2.2'),
                ('Stage 3, compute cap (conductor)', '6.3 \u2192 6.5')):
            self.assertEqual(shown, cells[where])
        self.assertEqual(3 * 4, len(cells))
        labels = [''.join(t.itertext()) for t in root.iter(
            '{http://www.w3.org/2000/svg}text')]
        for _api, _sender, label in svg.CAP_ROWS:
            self.assertIn(label, labels)


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))))


class PackagingTestCase(base.TestCase):

    def _package_sources(self):
        for dirpath, dirnames, filenames in os.walk(
                os.path.join(ROOT, 'nova_versioning')):
            if 'tests' in dirpath.split(os.sep):
                continue
            for name in filenames:
                if name.endswith('.py'):
                    with open(os.path.join(dirpath, name)) as f:
                        yield f.read()

    # Imported only when installed: the Nova interop checks and the
    # rolling upgrade with real Nova bring their own Nova.
    OPTIONAL_IMPORTS = ('nova',)

    @staticmethod
    def _normalized(name):
        """A distribution's name as pip compares them."""
        return re.sub(r'[-_.]+', '-', name).lower()

    @classmethod
    def _requirement_names(cls):
        """The normalized names requirements.txt lists."""
        names = set()
        with open(os.path.join(ROOT, 'requirements.txt')) as f:
            for line in f:
                name = re.split(r'[<>=!~;\[#\s]', line.strip(), 1)[0]
                if name:
                    names.add(cls._normalized(name))
        return names

    def test_every_import_is_a_requirement(self):
        required = self._requirement_names()
        # The database drivers of the [extras] in setup.cfg.
        required |= {'pymysql', 'psycopg2-binary'}
        modules = set()
        for source in self._package_sources():
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Import):
                    modules.update(a.name.split('.')[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    modules.add(node.module.split('.')[0])
        modules -= set(sys.stdlib_module_names)
        modules -= {'nova_versioning'} | set(self.OPTIONAL_IMPORTS)
        installed = metadata.packages_distributions()
        missing = []
        for module in sorted(modules):
            dists = {self._normalized(d)
                     for d in installed.get(module, [module])}
            if not dists & required:
                missing.append('%s (%s)' % (module, ', '.join(sorted(dists))))
        self.assertEqual([], missing, 'imported by the package but not in '
                         'requirements.txt')

    def test_every_requirement_is_imported(self):
        sources = '\n'.join(self._package_sources())
        for name in sorted(self._requirement_names()):
            module = name.replace('-', '_')
            self.assertRegex(sources, r'(?m)^\s*(import|from) %s\b'
                             % module, '%s is never imported' % name)

    def test_installed_sample_config_is_current(self):
        from oslo_config import generator
        out = os.path.join(self.useFixture(fixtures.TempDir()).path,
                           'sample.conf')
        conf = cfg.ConfigOpts()
        generator.register_cli_opts(conf)
        conf(['--config-file', os.path.join(
            ROOT, 'etc', 'oslo-config-generator',
            'nova_versioning-package.conf'), '--output-file', out])
        generator.generate(conf)
        with open(out) as f:
            generated = f.read()
        with open(os.path.join(ROOT, 'nova_versioning', 'conf',
                               'nova_versioning.conf.sample')) as f:
            self.assertEqual(generated, f.read(),
                             'run tox -e genconfig and commit the sample')

    def test_exit_code_table_documented(self):
        with open(os.path.join(ROOT, 'doc', 'source', 'cli.rst')) as f:
            text = f.read()
        table = text.split('.. _cli-exit-codes:', 1)[1]
        rows = [line.split(None, 1) for line in table.splitlines()
                if line[:1].isdigit()]
        self.assertEqual([str(code) for code, _ in cli.EXIT_CODES],
                         [row[0] for row in rows])


class ReloadSigtermFilterTestCase(base.TestCase):

    def test_worker_sigterm_line_demoted(self):
        import logging

        from nova_versioning.cmd import service as cmd_service

        def record(msg, level=logging.INFO):
            return logging.LogRecord('cotyledon._service_worker', level,
                                     __file__, 1, msg, ('ServiceWrapper(0)',),
                                     None)

        log_filter = cmd_service.ReloadSigtermFilter()
        root = logging.getLogger()
        self.addCleanup(root.setLevel, root.level)
        root.setLevel(logging.INFO)
        sigterm = record('Caught SIGTERM signal, graceful exiting of '
                         'service %s')
        self.assertFalse(log_filter.filter(sigterm))
        self.assertEqual('DEBUG', sigterm.levelname)
        self.assertTrue(log_filter.filter(record('Run service %s')))
        root.setLevel(logging.DEBUG)
        self.assertTrue(log_filter.filter(record(
            'Caught SIGTERM signal, graceful exiting of service %s')))


class OperatorCLIDBTestsMixin(test_status.CLIMixin):
    """The convention on a synced database of each backend."""

    def _conf(self, url):
        path = os.path.join(self.tmp, 'nova_versioning.conf')
        with open(path, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\n[database]\nconnection = '
                    '%s\n' % (self.tmp, url))
        return path

    def test_url_without_driver(self):
        url = sa_url.make_url(self.db.url)
        # mysql://, postgresql://: the extra's driver when SQLAlchemy's
        # default one is not installed.
        plain = url.set(drivername=url.get_backend_name()).render_as_string(
            hide_password=False)
        conf = self._conf(plain)
        code, out, err = self._run(STATUS, 'pins', '--format', 'json',
                                   '--config-file', conf)
        self.assertEqual(0, code, err)
        self.assertIn('apis', json.loads(out))
        # Only oslo.db's advice to name the driver, if anything.
        for line in err.splitlines():
            self.assertIn("does not contain a '+drivername' portion", line)

    def test_one_convention(self):
        conf = self._conf(self.db.url)
        code, out, err = self._run(STATUS, 'upgrade', 'check', '--format',
                                   'json', '--config-file', conf)
        self.assertEqual('', err)
        self.assertIn(code, (0, 1))
        self.assertEqual('nova-versioning upgrade check results',
                         json.loads(out)['name'])
        code, out, err = self._run(MANAGE, 'service', 'list', '--binary',
                                   'nova-computer', '--config-file', conf)
        self.assertEqual((cli.EXIT_ERROR, ''), (code, out))
        self.assertEqual(1, len(err.splitlines()), err)
        self.assertIn('did you mean nova-compute?', err)
        code, out, err = self._run(MANAGE, 'db', 'version', '--config-file',
                                   conf)
        self.assertEqual((0, ''), (code, err))
        self.assertEqual(1, len(out.splitlines()))


class OperatorCLISQLiteTestCase(OperatorCLIDBTestsMixin, base.DBTestCase):

    def test_url_without_driver(self):
        self.skipTest('SQLite URLs name no separate driver')
