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
"""tools/rpc-stop-loss.py on RabbitMQ: it runs and counts every call.

What it measures (calls lost by a restart) varies from run to run and is
not checked here; that no call is lost without a restart is.
"""

import json
import os
import subprocess
import sys

from oslo_utils import uuidutils

from nova_versioning.grenade import process
from nova_versioning.tests import base
from nova_versioning.tests.functional import rpc_base

TOOL = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))), 'tools',
    'rpc-stop-loss.py')


class StopLossToolTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        rpc_base.require_broker(self, rpc_base.transport_url())
        url, drop = process.rabbit_vhost(
            rpc_base.transport_url(),
            'nvtest-%s' % uuidutils.generate_uuid()[:12])
        if drop is not None:
            self.addCleanup(drop)
        self.url = url

    def _run(self, *args):
        proc = subprocess.run(
            [sys.executable, TOOL, '--url', self.url, '--callers', '2',
             '--interval', '1'] + list(args),
            capture_output=True, text=True, timeout=300)
        self.assertEqual(0, proc.returncode, proc.stderr)
        return json.loads(proc.stdout)

    def test_no_restart_no_call_lost(self):
        # A timeout far above any answer time on a loaded machine.
        result = self._run('--restarts', '0', '--timeout', '60')
        self.assertEqual(0, result['unanswered'], result)
        self.assertGreater(result['answered'], 0)

    def test_restarted_server_answers(self):
        result = self._run('--restarts', '2', '--timeout', '10')
        self.assertEqual((2, 2, 10), (result['restarts'], result['callers'],
                                      result['timeout']))
        # The server started by the last restart answered calls too.
        self.assertGreater(result['answered_after_last_restart'], 0, result)
        self.assertGreaterEqual(result['answered'],
                                result['answered_after_last_restart'])
