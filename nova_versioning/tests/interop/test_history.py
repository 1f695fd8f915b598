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
"""The ``nova`` history provider gives Nova's own answers.

Nova's answers come from ``nova_rules`` run once in a child process (the
installed Nova, pinned by tools/nova-interop-constraints.txt); this
library's from the live provider and from the bundled snapshot, in this
process, which never imports Nova.
"""

import json
import os
import subprocess
import sys

import fixtures
import testtools

from nova_versioning import exception
from nova_versioning import guards
from nova_versioning.histories import nova
from nova_versioning.rpc import pinning

# Explicit values given to Nova's router besides every release name.
EXPLICIT = ('6.5', '6.3', '6.0', '5.12', '5.0', '4.22', '4.0', '3.23')

_ANSWERS = {}


def nova_answers():
    """Nova's JSON document, computed once per test process."""
    if 'doc' not in _ANSWERS:
        tmp = fixtures.TempDir()
        tmp.setUp()
        try:
            conf = os.path.join(tmp.path, 'nova.conf')
            with open(conf, 'w') as f:
                f.write('[DEFAULT]\ntransport_url = fake://\n'
                        '[database]\nconnection = sqlite://\n')
            proc = subprocess.run(
                [sys.executable, '-m',
                 'nova_versioning.tests.interop.nova_rules', conf]
                + list(EXPLICIT),
                capture_output=True, text=True, timeout=300, cwd=tmp.path)
        finally:
            tmp.cleanUp()
        if proc.returncode != 0:
            raise AssertionError('nova_rules failed (%d): %s'
                                 % (proc.returncode, proc.stderr[-3000:]))
        _ANSWERS['doc'] = json.loads(proc.stdout)
    return _ANSWERS['doc']


class _NovaRulesMixin(object):
    """Every answer of a history equals Nova's; ``history()`` gives it."""

    def setUp(self):
        super().setUp()
        self.nova = nova_answers()
        self.hist = self.history()

    def test_auto_for_every_minimum_version(self):
        newest = self.nova['tables']['service_version']
        self.assertEqual(newest, self.hist.service_version)
        self.assertEqual(newest + 2, len(self.nova['auto']))
        self._check_auto(self.nova['auto'])
        # Something past the table must be refused, as Nova does.
        self.assertIn('error', self.nova['auto'][str(newest + 1)])

    def test_auto_check_needs_novas_log_lines(self):
        # Were Nova's INFO line not captured (its logging changed, or the
        # capture in nova_rules broke), the comparison must fail, not pass
        # on the caps alone.
        silent = {minimum: dict(answer, logged=None) if 'cap' in answer
                  else answer
                  for minimum, answer in self.nova['auto'].items()}
        self.assertRaises(self.failureException, self._check_auto, silent)
        one_line = dict(silent)
        one_line['1'] = self.nova['auto']['1']
        self.assertRaises(self.failureException, self._check_auto, one_line)

    def _check_auto(self, auto):
        """Each of Nova's ``auto`` answers ({minimum: answer}) is ours.

        Nova logs its INFO line for every minimum it maps to a cap but 0
        (no compute recorded: a DEBUG line only): each such line must
        have been captured and must begin this project's audit line.
        """
        compared = 0
        for minimum_text, theirs in sorted(auto.items(),
                                           key=lambda i: int(i[0])):
            minimum = int(minimum_text)
            if 'error' in theirs:
                self.assertEqual('ServiceTooOld', theirs['error'])
                exc = self.assertRaises(
                    exception.ServiceTooOld, pinning.resolve, 'compute',
                    'auto', self.hist, minimum_version=minimum)
                self.assertTrue(str(exc).startswith(theirs['message']),
                                str(exc))
                continue
            decision = pinning.resolve('compute', 'auto', self.hist,
                                       minimum_version=minimum)
            self.assertEqual(theirs['cap'], decision.cap,
                             'minimum %d' % minimum)
            if minimum == 0:
                self.assertIsNone(theirs['logged'], theirs)
                continue
            self.assertIsNotNone(
                theirs['logged'],
                'no line of Nova\'s captured for minimum %d' % minimum)
            self.assertTrue(
                pinning.audit_message(decision).startswith(
                    theirs['logged']),
                (minimum, pinning.audit_message(decision)))
            compared += 1
        self.assertGreater(compared, 0, 'no line of Nova\'s compared')

    def test_release_names_and_explicit_pins(self):
        self.assertGreater(len(self.nova['pins']), len(EXPLICIT) + 20)
        for value, cap in self.nova['pins'].items():
            decision = pinning.resolve('compute', value, self.hist)
            self.assertEqual(cap, decision.cap, value)
            # Accepted as Nova accepts it; older than the oldest supported
            # release is said, not refused.
            oldest = pinning.oldest_supported_rpc('compute', self.hist)
            older = (tuple(map(int, cap.split('.')))
                     < tuple(map(int, oldest.split('.'))))
            self.assertEqual(older, decision.warning is not None, value)

    def test_too_old_compute_verdict(self):
        for minimum_text, message in self.nova['old_compute'].items():
            minimum = int(minimum_text)
            too_old = (minimum != 0
                       and minimum < self.hist.oldest_supported_version)
            self.assertEqual(message is not None, too_old, minimum)
            if message is None:
                continue
            terms = guards.too_old_terms(self.hist, minimum)
            error = exception.TooOldComputeService(
                service='nova-conductor', hosts='h (version %d)' % minimum,
                **terms)
            self.assertTrue(str(error).startswith(message),
                            (message, str(error)))


class LiveProviderTestCase(_NovaRulesMixin, testtools.TestCase):

    def history(self):
        hist = nova.nova_history()
        self.assertEqual('live Nova %s' % nova_answers()['nova_version'],
                         hist.source)
        return hist

    def test_source_reading_equals_nova_imported(self):
        package_dir, version = nova.installed_nova()
        self.assertEqual(self.nova['nova_version'], version)
        self.assertEqual(self.nova['tables'], json.loads(json.dumps(
            nova.read_tables(package_dir))))


class SnapshotProviderTestCase(_NovaRulesMixin, testtools.TestCase):

    def history(self):
        return nova.snapshot_history()

    def test_snapshot_is_of_the_installed_nova(self):
        tables, version = nova.load_snapshot()
        self.assertEqual(self.nova['nova_version'], version,
                         'regenerate it: tools/nova-history-snapshot.py')
        self.assertEqual(self.nova['tables'], tables)

    def test_without_nova_importable_the_snapshot_is_used(self):
        self.useFixture(fixtures.MockPatch('importlib.util.find_spec',
                                           return_value=None))
        hist = nova.nova_history()
        self.assertEqual('snapshot of Nova %s' % self.nova['nova_version'],
                         hist.source)
