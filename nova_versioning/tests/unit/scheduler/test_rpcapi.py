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
"""The scheduler RPC client against a real in-process server (fake://)."""

from nova_versioning import exception
from nova_versioning.scheduler import rpcapi
from nova_versioning.tests import base
from nova_versioning.tests.unit.rpc import fakes


class FakeScheduler(fakes.Recorder):

    def select_destinations(self, context, **kwargs):
        return self._record('select_destinations', context, kwargs)

    def update_host_state(self, context, **kwargs):
        return self._record('update_host_state', context, kwargs)


class TestSchedulerAPI(base.TestCase):

    def setUp(self):
        super().setUp()
        self.transport = self.useFixture(
            fakes.FakeTransport(self.conf)).transport

    def setup_at(self, version):
        """A scheduler serving ``version``, a client capped at it."""
        endpoint = FakeScheduler(version,
                                 answers={'select_destinations': ['c1']})
        self.useFixture(fakes.Server(self.transport, 'scheduler', endpoint,
                                     server='s1'))
        self.flags(group='upgrade_levels', scheduler=version)
        api = rpcapi.SchedulerAPI(self.transport,
                                  history=fakes.history_from('liberty'))
        api.resolve(self.context)
        return api, endpoint

    def test_select_destinations_2_0_drops_limit(self):
        api, endpoint = self.setup_at('2.0')
        self.assertEqual(['c1'], api.select_destinations(
            self.context, {'vcpus': 1}, limit=3))
        self.assertEqual(('select_destinations', {'spec': {'vcpus': 1}}),
                         endpoint.next_call()[::2])

    def test_select_destinations_2_1_sends_limit(self):
        api, endpoint = self.setup_at('2.1')
        api.select_destinations(self.context, {'vcpus': 1}, limit=3)
        self.assertEqual(('select_destinations',
                          {'spec': {'vcpus': 1}, 'limit': 3}),
                         endpoint.next_call()[::2])

    def test_update_host_state_needs_2_2(self):
        api, endpoint = self.setup_at('2.1')
        exc = self.assertRaises(exception.UnsupportedRPCFeature,
                                api.update_host_state, self.context, 'c1',
                                {'free_ram_mb': 512})
        self.assertEqual(
            'Cannot call update_host_state: it needs scheduler RPC version '
            '2.2 but the version cap is 2.1 (older services are still '
            'running)', str(exc))
        endpoint.assert_nothing_received()

    def test_update_host_state_2_2(self):
        api, endpoint = self.setup_at('2.2')
        api.update_host_state(self.context, 'c1', {'free_ram_mb': 512})
        self.assertEqual(('update_host_state',
                          {'host': 'c1', 'state': {'free_ram_mb': 512}}),
                         endpoint.next_call()[::2])
