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
"""nova-versioning-grenade in real mode, broken on purpose, must fail.

Real service processes on RabbitMQ and a MariaDB database the job
provisions itself (as openstack_citest, like the functional tests).
Nothing is pinned, so the upgraded controllers send what the old computes
reject: the job must exit 1 with the rejections counted, every message of
every stage accounted for, and its service logs kept.
"""

import json
import os
import shutil
import subprocess
import sys

import fixtures

from nova_versioning.grenade import process
from nova_versioning.tests import base
from nova_versioning.tests.functional import rpc_base

SCRIPT = ('import sys; from nova_versioning import cmd; '
          'sys.exit(cmd.grenade_main())')


class GrenadeRealModeTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        base.database_backend(self, 'mysql')
        rpc_base.require_broker(self, rpc_base.transport_url())
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def test_unpinned_controllers_fail_the_job(self):
        path = os.path.join(self.tmp, 'report.json')
        proc = subprocess.run(
            [sys.executable, '-c', SCRIPT, '--mode', 'real',
             '--db-kind', 'mysql', '--broker-url', rpc_base.transport_url(),
             '--break', 'unpinned', '--stage-seconds', '0.5',
             '--report', path],
            capture_output=True, text=True, timeout=600, cwd=self.tmp,
            env=process.child_env())
        output = proc.stdout + proc.stderr[-20000:]
        with open(path) as f:
            report = json.load(f)
        if report['workdir']:
            self.addCleanup(shutil.rmtree, report['workdir'],
                            ignore_errors=True)
        self.assertEqual(1, proc.returncode, output)
        self.assertIs(False, report['ok'])
        self.assertEqual(('real', 'unpinned', None),
                         (report['mode'], report['break'], report['error']))
        self.assertEqual(list(range(1, 7)),
                         [s['stage'] for s in report['stages']], output)
        self.assertGreater(sum(s['rejected'] for s in report['stages']), 0)
        upgraded = report['stages'][1]
        self.assertEqual('6.5', upgraded['pins']['api'])
        self.assertGreater(upgraded['rejected'], 0)
        for stage in report['stages']:
            self.assertEqual(stage['sent'], stage['answered'] +
                             stage['rejected'] + stage['lost'], stage)
            self.assertGreaterEqual(stage['lost'], 0)
        # A failed real run keeps the service logs.
        self.assertTrue(os.path.isfile(os.path.join(
            report['workdir'], 'conductor-ctl1.log')), report['workdir'])
        self.assertIn('Service logs and configuration kept in %s'
                      % report['workdir'], proc.stdout)
        self.assertIn('FAILED (ocata -> queens)', proc.stdout)
