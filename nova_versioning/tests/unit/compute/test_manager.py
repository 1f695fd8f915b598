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
"""The compute endpoint, served on fake:// as an older release."""

import time

import oslo_messaging as messaging

from nova_versioning.compute import manager
from nova_versioning.compute import rpcapi
from nova_versioning import fixtures as nv_fixtures
from nova_versioning.tests import base
from nova_versioning.tests.unit.rpc import fakes


class TestComputeManager(base.TestCase):

    def setUp(self):
        super().setUp()
        self.transport = self.useFixture(
            fakes.FakeTransport(self.conf)).transport

    def serve(self, release=None):
        if release is None:
            endpoint = manager.ComputeManager(host='c1', conf=self.conf)
        else:
            with nv_fixtures.OlderRelease(release, conf=self.conf):
                endpoint = manager.ComputeManager(host='c1', conf=self.conf)
        self.useFixture(fakes.Server(self.transport, 'compute', endpoint,
                                     server='c1'))
        return endpoint

    def client(self, pin=None):
        if pin is not None:
            self.flags(group='upgrade_levels', compute=pin)
        api = rpcapi.ComputeAPI(self.transport, conf=self.conf)
        api.resolve(self.context)
        return api

    def wait_handled(self, endpoint, expected):
        deadline = time.monotonic() + fakes.WAIT
        while endpoint.get_stats(self.context) != expected:
            if time.monotonic() > deadline:
                self.fail('handled %s, expected %s'
                          % (endpoint.get_stats(self.context), expected))
            time.sleep(0.01)

    def test_latest(self):
        endpoint = self.serve()
        api = self.client()
        self.assertEqual(
            {'service': 'nova-compute', 'host': 'c1', 'payload': 'p',
             'trace_id': 't1', 'version': '6.5', 'caps': {}},
            api.ping(self.context, 'c1', 'p', trace_id='t1'))
        api.reboot_instance(self.context, 'c1', 'u1', reboot_type='HARD')
        api.backup_instance(self.context, 'c1', 'u1', 'b1', rotation=2)
        self.assertIsInstance(api.get_host_uptime(self.context, 'c1'), int)
        self.wait_handled(endpoint, {'ping': 1, 'reboot_instance': 1,
                                     'backup_instance': 1,
                                     'get_host_uptime': 1})
        # Casts may be handled in any order.
        self.assertEqual(['backup:b1:2', 'reboot:HARD'],
                         sorted(endpoint.instances['u1']))

    def test_pike_compute_refuses_an_unpinned_client(self):
        endpoint = self.serve('pike')
        self.assertEqual('6.4', endpoint.target.version)
        api = self.client()
        self.assertRaises(messaging.UnsupportedVersion, api.ping,
                          self.context, 'c1', 'p', trace_id='t1')
        self.assertEqual({}, endpoint.get_stats(self.context))

    def test_pike_compute_accepts_a_client_pinned_to_pike(self):
        endpoint = self.serve('pike')
        api = self.client(pin='pike')
        # 6.4 has no trace_id: the client drops it.
        self.assertEqual(
            {'service': 'nova-compute', 'host': 'c1', 'payload': 'p',
             'trace_id': None, 'version': '6.4', 'caps': {}},
            api.ping(self.context, 'c1', 'p', trace_id='t1'))
        api.backup_instance(self.context, 'c1', 'u1', 'b1', rotation=2)
        self.wait_handled(endpoint, {'ping': 1, 'backup_instance': 1})
        self.assertEqual({'u1': ['backup:b1:2']}, endpoint.instances)

    def test_ocata_compute_backup_without_rotation(self):
        endpoint = self.serve('ocata')
        self.assertEqual('6.3', endpoint.target.version)
        api = self.client(pin='ocata')
        api.backup_instance(self.context, 'c1', 'u1', 'b1', rotation=2)
        api.reboot_instance(self.context, 'c1', 'u1', reboot_type='HARD')
        self.wait_handled(endpoint, {'backup_instance': 1,
                                     'reboot_instance': 1})
        # Sent at 6.3: rotation dropped, the endpoint's default applies.
        self.assertEqual(['backup:b1:None', 'reboot:HARD'],
                         sorted(endpoint.instances['u1']))

    def test_get_stats_is_a_copy(self):
        endpoint = manager.ComputeManager(host='c1', conf=self.conf)
        endpoint.ping(self.context, 'p')
        stats = endpoint.get_stats(self.context)
        stats['ping'] = 99
        self.assertEqual({'ping': 1}, endpoint.get_stats(self.context))

    def test_get_handled_names_the_instance_of_each_cast(self):
        endpoint = manager.ComputeManager(host='c1', conf=self.conf)
        endpoint.reboot_instance(self.context, 'm1')
        endpoint.ping(self.context, 'p')
        endpoint.backup_instance(self.context, 'm2', 'b1')
        endpoint.reboot_instance(self.context, 'm3')
        self.assertEqual(['m1', 'm2', 'm3'],
                         endpoint.get_handled(self.context))
        self.assertEqual(['m3'], endpoint.get_handled(self.context, start=2))
        self.assertEqual([], endpoint.get_handled(self.context, start=3))
