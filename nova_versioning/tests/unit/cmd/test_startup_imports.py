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
"""What a console script imports when it has nothing to do.

``--help`` and an argument error end a command before it needs the
database, the broker or an oslo.service backend: each console script is
run as a real process under ``python -X importtime`` and the modules it
imported are read from that list.
"""

import os
import re
import subprocess
import sys

from nova_versioning.tests import base

BIN_DIR = os.path.dirname(sys.executable)
SCRIPTS = ('nova-versioning-status', 'nova-versioning-manage',
           'nova-versioning-conductor', 'nova-versioning-compute',
           'nova-versioning-grenade')
# Top-level packages none of which --help nor an argument error may import.
FORBIDDEN = ('sqlalchemy', 'oslo_db', 'oslo_messaging', 'eventlet', 'kombu',
             'alembic', 'oslo_service')
IMPORTED = re.compile(r'^import time:\s+\d+ \|\s+\d+ \| +(\S+)$')


def run_script(script, *args, env=None):
    """(exit code, stderr less the import lines, imported modules)."""
    environ = dict(os.environ, **(env or {}))
    proc = subprocess.run(
        [sys.executable, '-X', 'importtime', os.path.join(BIN_DIR, script)]
        + list(args), capture_output=True, text=True, timeout=120,
        env=environ)
    modules = set()
    stderr = []
    for line in proc.stderr.splitlines():
        match = IMPORTED.match(line)
        if match:
            modules.add(match.group(1))
        elif not line.startswith('import time:'):
            stderr.append(line)
    return proc.returncode, '\n'.join(stderr), modules


def forbidden(modules):
    return sorted(name for name in modules
                  if name.split('.')[0] in FORBIDDEN)


class StartupImportsTestCase(base.TestCase):

    def _check(self, script, args, code, env=None):
        rc, stderr, modules = run_script(script, *args, env=env)
        self.assertEqual(code, rc, stderr)
        # The list is read at all: oslo.config parsed the command line.
        self.assertIn('oslo_config.cfg', modules)
        self.assertEqual([], forbidden(modules),
                         '%s %s' % (script, ' '.join(args)))
        self.assertNotIn('Eventlet', stderr)
        self.assertNotIn('eventlet', stderr.lower())
        return stderr

    def test_help(self):
        for script in SCRIPTS:
            stderr = self._check(script, ['--help'], 0)
            self.assertEqual('', stderr, script)

    def test_argument_error(self):
        for script in SCRIPTS:
            stderr = self._check(script, ['--no-such-option'], 2)
            self.assertIn('%s: error: ' % script, stderr)
            self.assertEqual(1, len(stderr.splitlines()), stderr)

    def test_eventlet_backend_help(self):
        # The backend is chosen after the command line: asking for eventlet
        # neither imports it nor prints its warning for --help.
        self._check('nova-versioning-conductor', ['--help'], 0,
                    env={'NOVA_VERSIONING_SERVICE_BACKEND': 'eventlet'})

    def test_missing_config_file(self):
        stderr = self._check('nova-versioning-status',
                             ['--config-file', '/nonexistent/nv.conf',
                              'pins'], 2)
        self.assertIn('/nonexistent/nv.conf', stderr)

    def test_a_command_imports_them(self):
        # The check can fail: a command that works imports the database.
        rc, stderr, modules = run_script(
            'nova-versioning-manage', '--config-file', '/dev/null', 'db',
            'version', env={'HOME': '/nonexistent'})
        self.assertIn('sqlalchemy', forbidden(modules), stderr)
