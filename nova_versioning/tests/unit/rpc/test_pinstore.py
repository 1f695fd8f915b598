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
"""PinStore: the last good pin decisions of a service, kept on disk."""

import json
import logging
import os
from unittest import mock

import fixtures

from nova_versioning.rpc import pinning
from nova_versioning.rpc import pinstore
from nova_versioning.tests import base

AUTO = pinning.PinDecision(
    api='compute', configured='auto', cap='6.4', source='auto',
    minimum_version=6, hosts=('c1', 'c2'), latest=False, cacheable=True,
    binary='nova-compute')
ALIAS = pinning.PinDecision(
    api='scheduler', configured='ocata', cap='2.1', source='alias',
    latest=False, binary='nova-scheduler')
FIRST = pinning.PinDecision(
    api='conductor', configured='auto', cap='3.2', source='auto',
    minimum_version=0, latest=True, cacheable=False,
    binary='nova-conductor')


class TestPinStore(base.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.store = pinstore.PinStore(self.dir, 'nova-conductor', 'cond1')
        self.log = self.useFixture(fixtures.FakeLogger(
            name='nova_versioning.rpc.pinstore', level=logging.WARNING))

    def write(self, text):
        with open(self.store.path, 'w') as f:
            f.write(text)

    def test_path(self):
        self.assertEqual(
            os.path.join(self.dir, 'pins-nova-conductor-cond1.json'),
            self.store.path)

    def test_round_trip(self):
        self.store.save({'compute': AUTO, 'scheduler': ALIAS,
                         'conductor': FIRST})
        loaded = self.store.load()
        self.assertEqual({'compute': AUTO, 'scheduler': ALIAS,
                          'conductor': FIRST}, loaded)
        # hosts comes back a tuple (JSON only has lists), so decisions
        # compare and hash as the ones saved.
        self.assertEqual(('c1', 'c2'), loaded['compute'].hosts)
        self.assertEqual((), loaded['scheduler'].hosts)
        self.assertEqual(hash(AUTO), hash(loaded['compute']))
        self.assertEqual('', self.log.output)

    def test_file_content(self):
        self.store.save({'compute': AUTO})
        with open(self.store.path) as f:
            self.assertEqual(
                {'compute': {'api': 'compute', 'binary': 'nova-compute',
                             'cacheable': True, 'cap': '6.4',
                             'configured': 'auto', 'hosts': ['c1', 'c2'],
                             'latest': False, 'minimum_version': 6,
                             'source': 'auto', 'warning': None}},
                json.load(f))

    def test_none_decisions_are_not_saved(self):
        self.store.save({'compute': AUTO, 'conductor': None})
        self.assertEqual({'compute': AUTO}, self.store.load())

    def test_save_replaces_the_previous_file(self):
        self.store.save({'compute': AUTO, 'scheduler': ALIAS})
        self.store.save({'scheduler': ALIAS})
        self.assertEqual({'scheduler': ALIAS}, self.store.load())

    def test_missing_file(self):
        self.assertFalse(os.path.exists(self.store.path))
        self.assertEqual({}, self.store.load())
        self.assertEqual('', self.log.output)

    def test_missing_directory_is_created(self):
        store = pinstore.PinStore(os.path.join(self.dir, 'a', 'b'),
                                  'nova-compute', 'c1')
        store.save({'compute': AUTO})
        self.assertEqual({'compute': AUTO}, store.load())

    def test_corrupt_file(self):
        self.write('{"compute": {"api": "comp')
        self.assertEqual({}, self.store.load())
        self.assertIn('Ignoring the last known pins in %s: '
                      % self.store.path, self.log.output)

    def test_missing_field(self):
        self.write(json.dumps({'compute': {'api': 'compute', 'cap': '6.4'}}))
        self.assertEqual({}, self.store.load())
        self.assertIn('Ignoring the last known pins in %s: '
                      % self.store.path, self.log.output)

    def test_unknown_keys_are_ignored(self):
        self.store.save({'compute': AUTO})
        with open(self.store.path) as f:
            data = json.load(f)
        data['compute']['added_by_a_newer_release'] = 'x'
        self.write(json.dumps(data))
        self.assertEqual({'compute': AUTO}, self.store.load())
        self.assertEqual('', self.log.output)

    def test_unwritable_directory(self):
        blocker = os.path.join(self.dir, 'not-a-directory')
        with open(blocker, 'w') as f:
            f.write('x')
        store = pinstore.PinStore(os.path.join(blocker, 'state'),
                                  'nova-compute', 'c1')
        store.save({'compute': AUTO})
        self.assertIn('Could not record the pins in %s: ' % store.path,
                      self.log.output)
        self.assertEqual({}, store.load())

    def test_failed_write_keeps_the_previous_file(self):
        self.store.save({'compute': AUTO})
        with mock.patch.object(pinstore.os, 'replace',
                               side_effect=OSError(28, 'No space left')):
            self.store.save({'scheduler': ALIAS})
        self.assertIn('Could not record the pins in %s: [Errno 28] No '
                      'space left' % self.store.path, self.log.output)
        self.assertEqual({'compute': AUTO}, self.store.load())

    def test_atomic_replace(self):
        self.store.save({'compute': AUTO})
        real_replace = os.replace
        seen = []

        def replace(src, dst):
            # At the moment of the swap the new content is complete in a
            # temporary file of the same directory, and the old file is
            # still whole.
            self.assertEqual(self.dir, os.path.dirname(src))
            self.assertEqual(self.store.path, dst)
            with open(src) as f:
                seen.append(sorted(json.load(f)))
            seen.append(sorted(self.store.load()))
            return real_replace(src, dst)

        with mock.patch.object(pinstore.os, 'replace', side_effect=replace):
            self.store.save({'scheduler': ALIAS})
        self.assertEqual([['scheduler'], ['compute']], seen)
        self.assertEqual({'scheduler': ALIAS}, self.store.load())
        self.assertEqual(['pins-nova-conductor-cond1.json'],
                         os.listdir(self.dir))
