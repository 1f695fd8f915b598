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
"""nova-versioning-grenade in embedded mode, run as the real command.

The passing run shows the stages, pins and counts; the broken variant
(nothing pinned) shows the job can fail, with the rejections counted.
"""

import json
import os
import subprocess
import sys

import fixtures

from nova_versioning.tests import base

SCRIPT = ('import sys; from nova_versioning.cmd import grenade; '
          'sys.exit(grenade.main())')


class GrenadeEmbeddedTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def _run(self, *args):
        report = os.path.join(self.tmp, 'report.json')
        proc = subprocess.run(
            [sys.executable, '-c', SCRIPT, '--stage-seconds', '0.5',
             '--report', report] + list(args),
            capture_output=True, text=True, timeout=300, cwd=self.tmp)
        with open(report) as f:
            return proc, json.load(f)

    def test_rolling_upgrade_loses_nothing(self):
        proc, report = self._run()
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
        self.assertIs(True, report['ok'])
        self.assertEqual({'old': 'ocata', 'new': 'queens'},
                         report['releases'])
        self.assertEqual(
            [(1, 'ocata', '6.3', '6.3', '6.3'),
             (2, 'queens', '6.3', '6.3', '6.3'),
             (3, 'queens', '6.3', '6.3', '6.3'),
             (4, 'queens', '6.5', '6.5', '6.5'),
             (5, 'queens', '6.5', '6.5', '6.5'),
             (6, 'queens', '6.5', '6.5', '6.5')],
            [(s['stage'], s['controllers'], s['pins']['api'],
              s['pins']['conductor'], s['expected_pin'])
             for s in report['stages']])
        self.assertEqual({'cpu1': 'ocata', 'cpu2': 'ocata',
                          'cpu3': 'ocata'}, report['stages'][1]['computes'])
        self.assertEqual({'cpu1': 'queens', 'cpu2': 'queens',
                          'cpu3': 'queens'}, report['stages'][2]['computes'])
        for stage in report['stages']:
            self.assertEqual((0, 0, []), (stage['rejected'], stage['lost'],
                                          stage['problems']))
            self.assertGreater(stage['sent'], 0)
            self.assertEqual(stage['sent'], stage['answered'])
        self.assertIn('PASSED: no message rejected or lost, every pin as '
                      'expected (ocata -> queens)', proc.stdout)

    def test_unpinned_controllers_fail_the_job(self):
        proc, report = self._run('--break', 'unpinned')
        self.assertEqual(1, proc.returncode, proc.stdout + proc.stderr)
        self.assertIs(False, report['ok'])
        upgraded = report['stages'][1]
        self.assertEqual('6.5', upgraded['pins']['api'])
        # Old computes reject the calls; the casts they drop are lost.
        self.assertGreater(upgraded['rejected'], 0)
        self.assertGreater(upgraded['lost'], 0)
        self.assertEqual({'UnsupportedVersion': upgraded['rejected']},
                         upgraded['errors'])
        self.assertEqual(upgraded['sent'], upgraded['answered'] +
                         upgraded['rejected'] + upgraded['lost'])
        self.assertIn('FAILED (ocata -> queens)', proc.stdout)
