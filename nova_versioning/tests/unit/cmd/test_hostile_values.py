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
"""Every option of the sample configuration, with hostile values.

For each option of etc/nova_versioning.conf.sample (the namespaces of
``common.SAMPLE_NAMESPACES``) and each value of :data:`HOSTILE`, the
console scripts run in this process (``main()``, no subprocess) on a
configuration file setting it:

* ``nova-versioning-status pins`` for every option;
* the conductor's startup (``nova-versioning-conductor`` up to the launch
  of its workers) for this library's own options and those of
  oslo.messaging it reads before registering.

Each run: no traceback; a value the option's type refuses ends the command
with exit code != 0; any failure is one line on stderr naming the option
([group]/name) and nothing is written (row count and rows unchanged).

The cases of the issue each get a test of their own below as well.
"""

import contextlib
import io
import logging as py_logging
import os
from unittest import mock

import fixtures
import sqlalchemy as sa
import testscenarios

from nova_versioning.cmd import common
from nova_versioning.cmd import conductor
from nova_versioning.cmd import manage
from nova_versioning.cmd import status
from nova_versioning import conf as nv_conf
from nova_versioning.db import models
from nova_versioning import objects
from nova_versioning.tests import base

CONF = nv_conf.CONF

load_tests = testscenarios.load_tests_apply_scenarios

HOSTILE = (
    '',
    '1000000000000',
    '9' * 5000,
    '6.' + '9' * 5000,
    '-1',
    '-99999999999999999999',
    '\u00b2',
    '\u0663',
    'a\x00b',
    'x' * 10000,
)

# Options the conductor reads at startup and checks itself: this
# library's, and oslo.messaging's read before the transport is made.
CONDUCTOR_GROUPS = ('upgrade_levels', 'versioning', 'workarounds')
CONDUCTOR_DEFAULTS = ('host', 'report_interval', 'state_path',
                      'transport_url', 'rpc_response_timeout')

# Not walked: they name the files the run itself is made of.
SKIPPED = {('DEFAULT', 'config_file'), ('DEFAULT', 'config_dir')}


def _read_by_the_conductor(group, opt):
    return (group in CONDUCTOR_GROUPS or
            (group == 'DEFAULT' and opt.dest in CONDUCTOR_DEFAULTS))


def _option_scenarios(conductor_only=False):
    scenarios = []
    for group, opt in common.checked_opts():
        if (group, opt.dest) in SKIPPED:
            continue
        if conductor_only and not _read_by_the_conductor(group, opt):
            continue
        scenarios.append(('%s.%s' % (group, opt.dest),
                          {'group': group, 'opt': opt}))
    return scenarios


def type_refuses(opt, value):
    try:
        opt.type(value)
    except (ValueError, TypeError):
        return True
    return False


class InProcessCLI(object):
    """Runs console scripts' main() here, one after the other."""

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        # A relative path among the values (state_path = -1) is made here,
        # not in the tree the tests run from.
        cwd = os.getcwd()
        os.chdir(self.tmp)
        self.addCleanup(os.chdir, cwd)
        root = py_logging.getLogger()
        handlers, level = root.handlers[:], root.level

        def restore():
            root.handlers[:] = handlers
            root.setLevel(level)

        self.addCleanup(restore)
        self.addCleanup(self._forget_cli_opts)

    def _forget_cli_opts(self):
        CONF.reset()
        for opt in (status.command_opt, manage.category_opt):
            try:
                CONF.unregister_opt(opt)
            except Exception:
                pass

    def write_conf(self, text):
        path = '%s/nova_versioning.conf' % self.tmp
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text)
        return path

    def run_main(self, main, argv):
        self._forget_cli_opts()
        err = io.StringIO()
        out = io.StringIO()
        try:
            with contextlib.redirect_stderr(err), \
                    contextlib.redirect_stdout(out):
                code = main(argv)
        except SystemExit as exc:
            code = exc.code
        except Exception as exc:
            self.fail('%s raised %r; stderr: %s'
                      % (argv[0], exc, err.getvalue()[-2000:]))
        finally:
            root = py_logging.getLogger()
            for handler in root.handlers:
                handler.flush()
        return code, out.getvalue(), err.getvalue()

    def rows(self):
        with self.db.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(
                sa.select(models.Service.__table__).order_by(
                    models.Service.id))]


class _HostileBase(InProcessCLI, base.DBTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(300, gentle=True))
        for host, binary in (('c1', 'nova-compute'),
                             ('cond0', 'nova-conductor')):
            objects.Service(self.context, host=host, binary=binary,
                            topic=binary[5:]).create()
        self.base_conf = ('[DEFAULT]\nstate_path = %s\nhost = cond1\n'
                          '[database]\nconnection = %s\n'
                          % (self.tmp, self.db.url))
        launch = self.useFixture(fixtures.MockPatch(
            'nova_versioning.cmd.service.launch')).mock
        launch.return_value.wait.return_value = 0

    def conf_with(self, group, name, value):
        return self.write_conf('%s[%s]\n%s = %s\n'
                               % (self.base_conf, group, name, value))

    def assert_refused_in_one_line(self, code, err, prog, *texts):
        self.assertNotEqual(0, code, err)
        self.assertNotIn('Traceback', err)
        lines = err.splitlines()
        self.assertEqual(1, len(lines), err[:3000])
        self.assertTrue(lines[0].startswith('%s: error: ' % prog),
                        lines[0][:500])
        for text in texts:
            self.assertIn(text, lines[0])
        self.assertLess(len(lines[0]), 1000, lines[0][:500])

    def check_run(self, main, prog, args, group, opt, value):
        before = self.rows()
        conf = self.conf_with(group, opt.name, value)
        code, out, err = self.run_main(main, [prog, '--config-file', conf]
                                       + list(args))
        label = '[%s]/%s = %r' % (group, opt.dest, value[:40])
        self.assertNotIn('Traceback', err, label)
        if type_refuses(opt, value):
            self.assertNotEqual(0, code, '%s accepted: %s' % (label, err))
        if code != 0 and group == 'upgrade_levels' and out:
            # pins reports an invalid pin in its report, then in one line
            # on stderr, and exits 1.
            self.assertEqual(1, code, label)
            self.assertIn('[upgrade_levels]/%s' % opt.name, out, label)
            self.assert_refused_in_one_line(code, err, prog,
                                            '[upgrade_levels]/%s' % opt.name)
            self.assertEqual(before, self.rows(), label)
        elif code != 0:
            self.assert_refused_in_one_line(code, err, prog)
            # Named as in the file, or as the command-line argument the
            # file's value stands for (oslo.log's --debug and the like).
            self.assertTrue(
                '[%s]/%s' % (group, opt.name) in err or
                'argument --%s' % opt.name in err,
                '%s: %s' % (label, err[:500]))
            self.assertEqual(before, self.rows(), label)
        return code, out, err


class TestEveryOptionWithHostileValues(_HostileBase):
    """The walk: every option of the sample file, ten values each."""

    scenarios = _option_scenarios()

    def test_status_pins(self):
        for value in HOSTILE:
            self.check_run(status.main, status.PROG, ['pins'], self.group,
                           self.opt, value)


class TestConductorOptionsWithHostileValues(_HostileBase):
    """The options the conductor checks at startup, ten values each."""

    scenarios = _option_scenarios(conductor_only=True)

    def test_conductor_startup(self):
        for value in HOSTILE:
            self.check_run(conductor.main, 'nova-versioning-conductor', [],
                           self.group, self.opt, value)


class TestIssueCases(_HostileBase):
    """Each bad value of the issue: one line, exit code, nothing written."""

    def _conductor(self, group, name, value, *texts, **kw):
        before = self.rows()
        code, out, err = self.run_main(conductor.main, [
            'nova-versioning-conductor', '--config-file',
            self.conf_with(group, name, value)])
        self.assert_refused_in_one_line(code, err,
                                        'nova-versioning-conductor', *texts)
        self.assertEqual(before, self.rows())
        self.assertIsNone(objects.Service.get_by_host_and_binary(
            self.context, 'cond1', 'nova-conductor'))
        return code, err

    def _pins(self, group, name, value, *texts):
        code, out, err = self.run_main(status.main, [
            status.PROG, '--config-file', self.conf_with(group, name, value),
            'pins'])
        return code, out, err

    def test_pin_of_5000_digits(self):
        value = '6.' + '9' * 5000
        code, err = self._conductor(
            'upgrade_levels', 'compute', value,
            "Invalid value '6.999", '(5002 characters) for option '
            "[upgrade_levels]/compute: expected 'auto'")
        self.assertEqual(1, code)
        # pins reports it as the pin's error, then in one short line on
        # stderr, and exits 1.
        code, out, err = self._pins('upgrade_levels', 'compute', value)
        self.assert_refused_in_one_line(
            code, err, status.PROG, "Invalid value '6.999",
            '(5002 characters) for option [upgrade_levels]/compute')
        self.assertEqual(1, code)
        self.assertLess(len(err), 500, err[:500])
        self.assertNotIn('9' * 100, err)
        # The report's table and lines show the value cut as well.
        self.assertIn('6.' + '9' * 38 + '... (5002 characters)', out)
        self.assertNotIn('9' * 100, out)
        self.assertLess(max(len(line) for line in out.splitlines()), 500)

    def test_huge_stale_service_timeout(self):
        code, err = self._conductor(
            'versioning', 'stale_service_timeout', '1000000000000',
            "Invalid value '1000000000000' for option "
            "[versioning]/stale_service_timeout",
            'expected an integer from 0 to 315360000')
        self.assertEqual(1, code)

    def test_unicode_digit_release(self):
        self._conductor('versioning', 'emulated_release', '\u00b2',
                        "Invalid value '\u00b2' for option "
                        '[versioning]/emulated_release: expected a '
                        'release name')

    def test_garbage_transport_url(self):
        code, err = self._conductor(
            'DEFAULT', 'transport_url', 'garbage',
            "Invalid value 'garbage' for option [DEFAULT]/transport_url",
            'expected a transport URL')
        self.assertEqual(1, code)

    def test_transport_url_password_is_masked(self):
        code, err = self._conductor(
            'DEFAULT', 'transport_url', 'nope://u:s3cret@h:1/',
            '[DEFAULT]/transport_url')
        self.assertNotIn('s3cret', err)

    def test_rpc_response_timeout_before_the_record(self):
        code, err = self._conductor(
            'DEFAULT', 'rpc_response_timeout', 'abc',
            "Invalid value 'abc' for option [DEFAULT]/rpc_response_timeout",
            'expected an integer')
        self.assertEqual(1, code)

    def test_log_file_in_a_missing_directory(self):
        self._conductor('DEFAULT', 'log_file',
                        '%s/no/such/dir/x.log' % self.tmp,
                        '[DEFAULT]/log_file', 'No such file or directory')

    def test_connection_parameters(self):
        self._conductor('database', 'connection_parameters', 'garbage',
                        "Invalid value 'garbage' for option "
                        '[database]/connection_parameters',
                        'key=value pairs')

    def test_db_sync_unknown_revision(self):
        before = self.rows()
        code, out, err = self.run_main(manage.main, [
            manage.PROG, '--config-file', self.write_conf(self.base_conf),
            'db', 'sync', '--version', '9999'])
        self.assert_refused_in_one_line(
            code, err, manage.PROG,
            "Invalid value '9999' for --version: expected a schema "
            'revision this code knows')
        self.assertEqual(before, self.rows())


class TestCheckedOptions(base.TestCase):

    def test_the_sample_namespaces_are_walked(self):
        groups = {group for group, _opt in common.checked_opts()}
        for group in ('DEFAULT', 'database', 'upgrade_levels', 'versioning',
                      'workarounds', 'oslo_messaging_rabbit'):
            self.assertIn(group, groups)

    def test_an_unregistered_option_is_checked_as_written(self):
        path = self.useFixture(fixtures.TempDir()).path + '/c.conf'
        with open(path, 'w') as f:
            f.write('[oslo_messaging_rabbit]\nheartbeat_rate = often\n')
        self.conf(['--config-file', path], default_config_files=[])
        with mock.patch.object(common, 'CONF', self.conf):
            message = common.invalid_value(self.conf)
        self.assertIn("Invalid value 'often' for option "
                      '[oslo_messaging_rabbit]/heartbeat_rate in %s' % path,
                      message)
