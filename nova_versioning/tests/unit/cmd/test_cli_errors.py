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
"""Operator mistakes on the console scripts: one line, non-zero, nothing lost.

Every test runs the real console scripts with the default options (no
``max_retries`` in the configuration file) and counts every line written
to stderr. ``CLIErrorTestsMixin`` runs here on SQLite and in
``nova_versioning.tests.functional.test_status_db`` on MariaDB and
PostgreSQL, against servers derived from the test database's own URL.
"""

import json
import os
import socket
import subprocess
import sys

import sqlalchemy as sa
import sqlalchemy.engine.url as sa_url

from nova_versioning.cmd import status
from nova_versioning.db import migration
from nova_versioning import fixtures as nv_fixtures
from nova_versioning import objects
from nova_versioning.tests import base
from nova_versioning.tests.functional import tcpproxy
from nova_versioning.tests.unit.cmd import test_status

MANAGE = 'nova-versioning-manage'
STATUS = 'nova-versioning-status'

SYNC_HINT = ('its schema is not synced. Run: nova-versioning-manage '
             '--config-file %s db sync')


def closed_port():
    """A local TCP port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


# The commands bounded by [versioning]/database_operation_timeout (db sync
# only while connecting), with the exit code of a database they cannot use.
BOUNDED_COMMANDS = (
    (STATUS, ['pins'], 1),
    (STATUS, ['upgrade', 'check'], status.CHECK_ERROR),
    (MANAGE, ['db', 'version'], 1),
    (MANAGE, ['service', 'list'], 1),
    (MANAGE, ['service', 'delete', 'h1', 'nova-compute'], 1),
    (MANAGE, ['service', 'force-down', 'h1', 'nova-compute'], 1),
)


class BlackHoleMixin(object):
    """Commands against a database that accepts and never answers."""

    def _black_holed_url(self, url):
        """``url`` sent to a loopback listener that never answers."""
        proxy = tcpproxy.TCPProxy('127.0.0.1', None).start()
        self.addCleanup(proxy.stop)
        return sa_url.make_url(url).set(
            host='127.0.0.1', port=proxy.port).render_as_string(
                hide_password=False)

    def _assert_bounded(self, url):
        # The command ending by itself, under _run's own timeout, is the
        # check: no elapsed time is measured.
        conf = self._conf('[DEFAULT]\nstate_path = %s\n[database]\n'
                          'connection = %s\n[versioning]\n'
                          'database_operation_timeout = 2\n'
                          % (self.tmp, url))
        for script, args, expected_code in BOUNDED_COMMANDS:
            code, out, err = self._run(script, '--config-file', conf, *args)
            self.assertOneLineError(
                code, expected_code, err, '%s: error: Cannot use the '
                'database at [database]/connection ' % script,
                '[versioning]/database_operation_timeout')
            self.assertEqual('', out)
        # db sync bounds connecting (its migrations are not bounded).
        code, out, err = self._run(MANAGE, '--config-file', conf, 'db',
                                   'sync')
        self.assertOneLineError(
            code, 1, err, '%s: error: Cannot use the database at '
            '[database]/connection ' % MANAGE,
            '[versioning]/database_operation_timeout')
        self.assertEqual('', out)


class CLIErrorTestsMixin(BlackHoleMixin, test_status.CLIMixin):
    """Database mistakes, on the test's own backend."""

    def test_black_holed_server(self):
        if self.BACKEND == 'sqlite':
            self.skipTest('SQLite has no server (see BlackHoleTestCase)')
        self._assert_bounded(self._black_holed_url(self.db.url))

    def _db_conf(self, url, extra=''):
        return self._conf('[DEFAULT]\nstate_path = %s\n[database]\n'
                          'connection = %s\n%s' % (self.tmp, url, extra))

    def _unreachable_url(self):
        url = sa_url.make_url(self.db.url)
        if url.get_backend_name() == 'sqlite':
            # No server to miss: a file that cannot be opened.
            return 'sqlite:///%s' % os.path.join(self.tmp, 'no-such-dir',
                                                 'nova_versioning.sqlite')
        return url.set(port=closed_port()).render_as_string(
            hide_password=False)

    def _never_synced_url(self):
        if self.BACKEND == 'sqlite':
            # An empty file is an SQLite database with no table.
            path = os.path.join(self.tmp, 'empty.sqlite')
            open(path, 'w').close()
            return 'sqlite:///%s' % path
        return self.provision_database()

    def _password(self):
        return sa_url.make_url(self.db.url).password

    def _assert_quick_one_line(self, url, script, args, expected_code,
                               *texts):
        conf = self._db_conf(url)
        # One line and no retry warning: the database was tried once (how
        # long that takes is for the benchmarks, not for a unit test).
        code, out, err = self._run(script, '--config-file', conf, *args)
        self.assertOneLineError(
            code, expected_code, err, '%s: error: Cannot use the database '
            'at [database]/connection ' % script, *texts)
        self.assertEqual('', out)
        password = self._password()
        if password:
            self.assertNotIn(':%s@' % password, err)
        self.assertNotIn('Traceback', err)
        return err

    # -- unreachable server, default options --------------------------

    def _unreachable(self, script, args, expected_code):
        expected = ('the database file cannot be opened'
                    if self.BACKEND == 'sqlite' else 'Connection refused')
        if self.BACKEND == 'sqlite' and args != ['db', 'sync']:
            # A read-only command creates no file, so it does not try.
            expected = ('the file does not exist and this command creates '
                        'none: [database]/connection is needed')
        self._assert_quick_one_line(self._unreachable_url(), script, args,
                                    expected_code, expected)

    def test_unreachable_manage_db_sync(self):
        self._unreachable(MANAGE, ['db', 'sync'], 1)

    def test_unreachable_pins(self):
        self._unreachable(STATUS, ['pins'], 1)

    def test_unreachable_upgrade_check(self):
        self._unreachable(STATUS, ['upgrade', 'check'], status.CHECK_ERROR)

    # -- wrong credentials -------------------------------------------

    def _wrong_credentials_url(self):
        if self.BACKEND == 'sqlite':
            self.skipTest('SQLite has no credentials')
        # A role that does not exist: refused even where the server trusts
        # local connections of known roles without a password.
        return sa_url.make_url(self.db.url).set(
            username='nv_nobody', password='wrong-s3cret').render_as_string(
                hide_password=False)

    def test_wrong_credentials(self):
        url = self._wrong_credentials_url()
        for script, args, expected_code in (
                (MANAGE, ['db', 'sync'], 1),
                (STATUS, ['pins'], 1),
                (STATUS, ['upgrade', 'check'], status.CHECK_ERROR)):
            err = self._assert_quick_one_line(url, script, args,
                                              expected_code, 'nv_nobody')
            self.assertNotIn('wrong-s3cret', err)

    # -- schema never synced ------------------------------------------

    def _assert_not_synced(self, script, *args):
        url = self._never_synced_url()
        conf = self._db_conf(url)
        code, out, err = self._run(script, '--config-file', conf, *args)
        self.assertOneLineError(
            code, 1, err, '%s: error: The database at [database]/connection '
            % script, 'has no services table', SYNC_HINT % conf)
        self.assertNotIn('no such table', err)
        # Nothing was created on the way.
        engine = sa.create_engine(url)
        self.addCleanup(engine.dispose)
        self.assertEqual([], sa.inspect(engine).get_table_names())

    def test_never_synced_pins(self):
        self._assert_not_synced(STATUS, 'pins')

    def test_never_synced_service_list(self):
        self._assert_not_synced(MANAGE, 'service', 'list')

    def test_never_synced_conductor_start(self):
        # One line on every backend (PostgreSQL's "relation does not
        # exist" used to end in a traceback), and no record, no table.
        self._assert_not_synced('nova-versioning-conductor')

    def test_never_synced_service_force_down(self):
        self._assert_not_synced(MANAGE, 'service', 'force-down', 'h1',
                                'nova-compute')

    def test_never_synced_upgrade_check(self):
        url = self._never_synced_url()
        code, out, err = self._run(STATUS, '--config-file',
                                   self._db_conf(url), 'upgrade', 'check',
                                   '--json')
        # A check result, not an error; and no alembic INFO lines.
        self.assertEqual((2, ''), (code, err))
        results = {c['check']: c['result']
                   for c in json.loads(out)['checks']}
        self.assertEqual({'Database schema': 2,
                          'Computes older than the oldest supported release':
                          1, 'Service versions known to the history': 1,
                          'Stale service records': 1,
                          'RPC version pins': 1,
                          'Odd service records': 1,
                          '[upgrade_levels] configuration': 0}, results)

    def test_db_sync_then_commands(self):
        conf = self._db_conf(self._never_synced_url())
        head = migration.head_version()
        code, out, err = self._run(MANAGE, '--config-file', conf, 'db',
                                   'version')
        self.assertEqual((0, 'not synced (newest known: %s)\n' % head, ''),
                         (code, out, err))
        code, out, err = self._run(MANAGE, '--config-file', conf, 'db',
                                   'sync')
        self.assertEqual((0, 'Database schema is at revision %s.\n' % head,
                          ''), (code, out, err))
        code, out, err = self._run(MANAGE, '--config-file', conf, 'db',
                                   'version')
        self.assertEqual((0, '%s (newest known: %s)\n' % (head, head), ''),
                         (code, out, err))
        code, out, err = self._run(MANAGE, '--config-file', conf, 'service',
                                   'list', '--format', 'json')
        self.assertEqual((0, [], ''), (code, json.loads(out), err))
        code, out, err = self._run(STATUS, '--config-file', conf, 'pins')
        self.assertEqual((0, ''), (code, err))

    def test_db_sync_migrates_without_read_or_statement_deadline(self):
        # The schema's state is read within the deadline; the migrations'
        # connection is bounded while connecting only. What each
        # connection was given is recorded by the command's own process.
        record = os.path.join(self.tmp, 'connections.json')
        script = (
            'import json, sys\n'
            'from nova_versioning import cmd\n'
            'from nova_versioning.db import timeouts\n'
            'seen = []\n'
            'apply = timeouts.DatabaseTimeouts.apply\n'
            'def recording(self, driver, cparams):\n'
            '    given = apply(self, driver, cparams)\n'
            '    seen.append(sorted(given))\n'
            '    return given\n'
            'timeouts.DatabaseTimeouts.apply = recording\n'
            'try:\n'
            '    code = cmd.manage_main()\n'
            'finally:\n'
            '    with open(%r, "w") as f:\n'
            '        json.dump(seen, f)\n'
            'sys.exit(code)\n' % record)
        conf = self._db_conf(self._never_synced_url(),
                             '[versioning]\ndatabase_operation_timeout = 1\n')
        proc = subprocess.run(
            [sys.executable, '-c', script, '--config-file', conf, 'db',
             'sync'], capture_output=True, text=True, timeout=120,
            cwd=self.tmp)
        self.assertEqual((0, ''), (proc.returncode, proc.stderr))
        with open(record) as f:
            seen = json.load(f)
        self.assertGreaterEqual(len(seen), 2, seen)
        bounded = {'sqlite': 'timeout', 'mysql': 'read_timeout',
                   'postgresql': 'options'}[self.BACKEND]
        self.assertIn(bounded, seen[0])
        if self.BACKEND != 'sqlite':
            # SQLite's busy timeout is kept: it bounds a lock, not a
            # statement.
            self.assertNotIn(bounded, seen[-1])
        self.assertIn('connect_timeout' if self.BACKEND != 'sqlite'
                      else 'timeout', seen[-1])

    # -- upgrade check, end to end ------------------------------------

    def _upgrade_check(self):
        code, out, err = self._run(STATUS, '--config-file',
                                   self._db_conf(self.db.url), 'upgrade',
                                   'check', '--json')
        self.assertEqual('', err)
        return code, {c['check']: c['result']
                      for c in json.loads(out)['checks']}

    def _create(self, host, binary, release=None):
        svc = objects.Service(self.context, host=host, binary=binary,
                              topic=binary[5:])
        if release is None:
            svc.create()
        else:
            with nv_fixtures.OlderRelease(release):
                svc.create()

    def test_upgrade_check_success(self):
        self._create('c1', 'nova-compute')
        self._create('ctl1', 'nova-conductor')
        self.assertEqual((0, {
            'Database schema': 0,
            'Computes older than the oldest supported release': 0,
            'Service versions known to the history': 0,
            'Stale service records': 0,
            'RPC version pins': 0,
            'Odd service records': 0,
            '[upgrade_levels] configuration': 0}), self._upgrade_check())

    def test_upgrade_check_compute_too_old(self):
        self._create('c-newton', 'nova-compute', 'newton')
        self._create('ctl1', 'nova-conductor')
        code, results = self._upgrade_check()
        self.assertEqual((2, 2), (code, results[
            'Computes older than the oldest supported release']))


class CLIErrorSQLiteTestCase(CLIErrorTestsMixin, base.DBTestCase):
    pass


class BlackHoleTestCase(BlackHoleMixin, test_status.CLIMixin,
                        base.TestCase):
    """No server needed: the listener never answers any driver."""

    def test_black_holed_mysql(self):
        self._assert_bounded(self._black_holed_url(
            'mysql+pymysql://nova:secret@localhost/nova'))

    def test_black_holed_postgresql(self):
        self._assert_bounded(self._black_holed_url(
            'postgresql+psycopg2://nova:secret@localhost/nova'))


class RetriesTestCase(test_status.CLIMixin, base.TestCase):
    """[database]/max_retries of the one-shot commands."""

    def _unreachable(self, extra=''):
        conf = self._conf('[database]\nconnection = mysql+pymysql://u:p@'
                          '127.0.0.1:%d/d\n%s' % (closed_port(), extra))
        code, out, err = self._run(MANAGE, '--config-file', conf, 'db',
                                   'version')
        return code, err.splitlines()

    def test_default_is_one_attempt(self):
        code, lines = self._unreachable()
        self.assertEqual(1, code)
        # No "SQL connection failed. N attempts left." line: one attempt.
        self.assertEqual(1, len(lines), lines)
        self.assertIn('the database server is unreachable', lines[0])

    def test_max_retries_in_the_config_file_is_honoured(self):
        code, lines = self._unreachable(
            'max_retries = 2\nretry_interval = 1\n')
        self.assertEqual(1, code)
        # One warning per retry, then the error.
        self.assertEqual(3, len(lines), lines)
        self.assertIn('SQL connection failed. 2 attempts left.', lines[0])
        self.assertIn('SQL connection failed. 1 attempts left.', lines[1])
        self.assertTrue(lines[2].startswith('nova-versioning-manage: error: '
                                            'Cannot use the database'))


class ArgumentErrorsTestCase(test_status.CLIMixin, base.TestCase):
    """argparse errors: one line with the allowed forms, exit code 2."""

    def _error(self, script, *args):
        code, out, err = self._run(script, '--config-file',
                                   self._conf('[DEFAULT]\n'), *args)
        self.assertEqual('', out)
        self.assertNotIn('usage:', err)
        return code, err

    def _assert(self, script, args, prefix, *texts):
        code, err = self._error(script, *args)
        self.assertOneLineError(code, 2, err, prefix, *texts)

    STATUS_FORMS = ('pins [--format table|json] [--assume-upgraded '
                    'HOST[,HOST...]] [--assume-removed HOST[,HOST...]]')

    def test_status_no_command(self):
        self._assert(STATUS, [], 'nova-versioning-status: error: missing '
                     'the command; expected one of: %s | upgrade check '
                     '[--format table|json] [--json]' % self.STATUS_FORMS)

    def test_status_unknown_command(self):
        self._assert(STATUS, ['pin'], "nova-versioning-status: error: "
                     "argument command: invalid choice: 'pin' (choose from "
                     "'pins', 'upgrade')")

    def test_status_unknown_option(self):
        self._assert(STATUS, ['pins', '--bogus'], 'nova-versioning-status: '
                     'error: unrecognized arguments: --bogus; expected: %s'
                     % self.STATUS_FORMS)

    def test_status_extra_argument(self):
        self._assert(STATUS, ['pins', 'extra'], 'nova-versioning-status: '
                     'error: unrecognized arguments: extra; expected: %s'
                     % self.STATUS_FORMS)

    def test_status_upgrade_without_action(self):
        self._assert(STATUS, ['upgrade'], 'nova-versioning-status upgrade: '
                     'error: missing the action; expected: upgrade check '
                     '[--format table|json] [--json]')

    def test_status_upgrade_check_unknown_option(self):
        self._assert(STATUS, ['upgrade', 'check', '--bogus'],
                     'nova-versioning-status: error: unrecognized '
                     'arguments: --bogus; expected: upgrade check '
                     '[--format table|json] [--json]')

    def test_manage_no_command(self):
        self._assert(MANAGE, [], 'nova-versioning-manage: error: missing the '
                     'command; expected one of: db sync [--version REV] | '
                     'db version [--format table|json] | db index create|drop '
                     '| service list [--binary nova-<name>] [--cell CELL] '
                     '[--format table|json] | service delete HOST BINARY | '
                     'service force-down HOST BINARY [--unset]')

    def test_manage_unknown_command(self):
        self._assert(MANAGE, ['dbs'], "nova-versioning-manage: error: "
                     "argument category: invalid choice: 'dbs' (choose from "
                     "'db', 'service')")

    def test_manage_unknown_action(self):
        self._assert(MANAGE, ['db', 'upgrade'], "nova-versioning-manage db: "
                     "error: argument ACTION: invalid choice: 'upgrade' "
                     "(choose from 'sync', 'version', 'index')")

    def test_manage_db_without_action(self):
        self._assert(MANAGE, ['db'], 'nova-versioning-manage db: error: '
                     'missing the action; expected one of: db sync '
                     '[--version REV] | db version [--format table|json] | '
                     'db index create|drop')

    def test_manage_unknown_option(self):
        self._assert(MANAGE, ['service', 'list', '--bogus'],
                     'nova-versioning-manage: error: unrecognized '
                     'arguments: --bogus; expected: service list [--binary '
                     'nova-<name>] [--cell CELL] [--format table|json]')

    def test_manage_extra_argument(self):
        self._assert(MANAGE, ['db', 'version', 'extra'],
                     'nova-versioning-manage: error: unrecognized '
                     'arguments: extra; expected: db version [--format '
                     'table|json]')

    def test_manage_missing_argument(self):
        self._assert(MANAGE, ['service', 'delete', 'h1'],
                     'nova-versioning-manage service delete: error: the '
                     'following arguments are required: BINARY; expected: '
                     'service delete HOST BINARY')

    def test_help_still_prints_usage(self):
        code, out, err = self._run(MANAGE, 'service', 'list', '--help')
        self.assertEqual((0, ''), (code, err))
        self.assertIn('usage: nova-versioning-manage service list', out)


class BadValueTestCase(test_status.CLIMixin, base.TestCase):
    """A value oslo.config cannot convert: the option, value and forms."""

    def _assert(self, conf_text, expected, *args, env=None):
        conf = self._conf(conf_text)
        for script, command in ((STATUS, ['pins']),
                                (STATUS, ['upgrade', 'check']),
                                (MANAGE, ['service', 'list'])):
            code, out, err = self._run(script, '--config-file', conf,
                                       *(list(args) + command))
            # An operator error: 1 (cli.EXIT_CODES), as documented.
            self.assertOneLineError(code, 1, err, '%s: error: %s'
                                    % (script, expected % conf))
            self.assertNotIn('LocationInfo', err)

    def test_integer(self):
        self._assert('[versioning]\nstale_service_timeout = abc\n',
                     "Invalid value 'abc' for option "
                     "[versioning]/stale_service_timeout in %s: "
                     "expected an integer from 0 to 315360000")

    def test_out_of_range(self):
        self._assert('[versioning]\nstale_service_timeout = -5\n',
                     "Invalid value '-5' for option "
                     "[versioning]/stale_service_timeout in %s: "
                     "expected an integer from 0 to 315360000")

    def test_boolean(self):
        self._assert('[workarounds]\n'
                     'disable_compute_service_check_for_ffu = maybe\n',
                     "Invalid value 'maybe' for option "
                     "[workarounds]/disable_compute_service_check_for_ffu "
                     "in %s: expected true or false")

    def test_database_option(self):
        self._assert('[database]\nmax_retries = often\n',
                     "Invalid value 'often' for option "
                     "[database]/max_retries in %s: expected an "
                     "integer")
