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
"""nova-versioning-manage, run as a real process."""

import os
import subprocess
import sys

import fixtures
import sqlalchemy as sa

from nova_versioning.tests import base

SCRIPT = 'import sys; from nova_versioning import cmd; ' \
         'sys.exit(cmd.manage_main())'


class ManageTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def _conf(self, text):
        path = os.path.join(self.tmp, 'nova_versioning.conf')
        with open(path, 'w') as f:
            f.write(text)
        return path

    def _run(self, *args):
        proc = subprocess.run([sys.executable, '-c', SCRIPT] + list(args),
                              capture_output=True, text=True, timeout=120,
                              cwd=self.tmp)
        return proc.returncode, proc.stdout, proc.stderr

    def _error_lines(self, stderr):
        # Every line counts: no retry warning or log line besides the error.
        return stderr.splitlines()

    def test_db_sync_creates_schema_in_state_path(self):
        conf = self._conf('[DEFAULT]\nstate_path = %s\n' % self.tmp)
        code, out, err = self._run('--config-file', conf, 'db', 'sync')
        self.assertEqual((0, ''), (code, err))
        self.assertIn('Database schema is at revision 0001.', out)
        engine = sa.create_engine('sqlite:///%s/nova_versioning.sqlite'
                                  % self.tmp)
        self.addCleanup(engine.dispose)
        inspector = sa.inspect(engine)
        self.assertIn('services', inspector.get_table_names())
        self.assertIn('services_binary_deleted_forced_down_version_idx',
                      [i['name'] for i in inspector.get_indexes('services')])
        # Idempotent.
        code, out, err = self._run('--config-file', conf, 'db', 'sync')
        self.assertEqual(0, code, err)
        code, out, err = self._run('--config-file', conf, 'db', 'version')
        self.assertEqual(0, code, err)
        self.assertEqual('0001 (newest known: 0001)', out.strip())

    def _assert_one_line_error(self, conf_text, *expected):
        conf = self._conf(conf_text)
        code, out, err = self._run('--config-file', conf, 'db', 'sync')
        self.assertEqual(1, code)
        self.assertNotIn('Traceback', err)
        lines = self._error_lines(err)
        self.assertEqual(1, len(lines), err)
        self.assertTrue(lines[0].startswith('nova-versioning-manage: error: '
                                            'Cannot use the database at '
                                            '[database]/connection'), err)
        for text in expected:
            self.assertIn(text, lines[0])

    def test_malformed_connection(self):
        self._assert_one_line_error(
            '[database]\nconnection = not a url\n',
            "'not a url'", 'not a valid SQLAlchemy URL')

    def test_unknown_dialect(self):
        self._assert_one_line_error(
            '[database]\nconnection = foo://bar\n',
            "'foo://bar'", 'not a valid SQLAlchemy URL')

    def test_unreachable_database_masks_password(self):
        self._assert_one_line_error(
            # The default options: the command tries once.
            '[database]\nconnection = mysql+pymysql://u:s3cret@127.0.0.1:9/d'
            '\n',
            "'mysql+pymysql://u:***@127.0.0.1:9/d'",
            'the database server is unreachable')
        conf = os.path.join(self.tmp, 'nova_versioning.conf')
        code, out, err = self._run('--config-file', conf, 'db', 'sync')
        self.assertNotIn('s3cret', err + out)

    def test_missing_config_file(self):
        code, out, err = self._run('--config-file',
                                   os.path.join(self.tmp, 'nope.conf'),
                                   'db', 'sync')
        self.assertEqual(2, code)
        self.assertNotIn('Traceback', err)
        self.assertEqual(1, len(self._error_lines(err)), err)
        self.assertIn('nope.conf', err)
