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
"""The compute RPC client against real in-process servers (fake://).

Each scenario caps the client at one version and serves the compute API
at exactly that version, as a compute of that version would: a message
above it would be rejected by the server.
"""

from unittest import mock

import oslo_messaging as messaging
import testscenarios

from nova_versioning.compute import rpcapi
from nova_versioning import exception
from nova_versioning.tests import base
from nova_versioning.tests.unit.rpc import fakes

load_tests = testscenarios.load_tests_apply_scenarios

UUID = 'a6e4a8c8-8f6e-4c43-8e1f-0f2ad8f0b6a1'
HOST = 'c1'


class FakeCompute(fakes.Recorder):
    """The compute endpoint: records what it receives."""

    def ping(self, context, **kwargs):
        return self._record('ping', context, kwargs)

    def reboot_instance(self, context, **kwargs):
        return self._record('reboot_instance', context, kwargs)

    def get_host_uptime(self, context, **kwargs):
        return self._record('get_host_uptime', context, kwargs)

    def backup_instance(self, context, **kwargs):
        return self._record('backup_instance', context, kwargs)


def unsupported(method, required):
    return ('unsupported', method, required)


# cap -> what each call sends: (version, kwargs) or unsupported(...).
EXPECTED = {
    '6.0': {
        'ping': ('6.0', {'payload': 'p'}),
        'reboot_soft': ('6.0', {'instance_uuid': UUID}),
        'reboot_hard': unsupported("reboot_instance(reboot_type='HARD')",
                                   '6.2'),
        'uptime': unsupported('get_host_uptime', '6.1'),
        'backup': unsupported('backup_instance', '6.3'),
    },
    '6.1': {
        'ping': ('6.0', {'payload': 'p'}),
        'reboot_soft': ('6.0', {'instance_uuid': UUID}),
        'reboot_hard': unsupported("reboot_instance(reboot_type='HARD')",
                                   '6.2'),
        'uptime': ('6.1', {}),
        'backup': unsupported('backup_instance', '6.3'),
    },
    '6.2': {
        'ping': ('6.0', {'payload': 'p'}),
        'reboot_soft': ('6.2', {'instance_uuid': UUID,
                                'reboot_type': 'SOFT'}),
        'reboot_hard': ('6.2', {'instance_uuid': UUID,
                                'reboot_type': 'HARD'}),
        'uptime': ('6.1', {}),
        'backup': unsupported('backup_instance', '6.3'),
    },
    '6.3': {
        'ping': ('6.0', {'payload': 'p'}),
        'reboot_soft': ('6.2', {'instance_uuid': UUID,
                                'reboot_type': 'SOFT'}),
        'reboot_hard': ('6.2', {'instance_uuid': UUID,
                                'reboot_type': 'HARD'}),
        'uptime': ('6.1', {}),
        'backup': ('6.3', {'instance_uuid': UUID, 'name': 'b1'}),
    },
    '6.4': {
        'ping': ('6.0', {'payload': 'p'}),
        'reboot_soft': ('6.2', {'instance_uuid': UUID,
                                'reboot_type': 'SOFT'}),
        'reboot_hard': ('6.2', {'instance_uuid': UUID,
                                'reboot_type': 'HARD'}),
        'uptime': ('6.1', {}),
        'backup': ('6.4', {'instance_uuid': UUID, 'name': 'b1',
                           'rotation': 2}),
    },
    '6.5': {
        'ping': ('6.5', {'payload': 'p', 'trace_id': 't1'}),
        'reboot_soft': ('6.2', {'instance_uuid': UUID,
                                'reboot_type': 'SOFT'}),
        'reboot_hard': ('6.2', {'instance_uuid': UUID,
                                'reboot_type': 'HARD'}),
        'uptime': ('6.1', {}),
        'backup': ('6.4', {'instance_uuid': UUID, 'name': 'b1',
                           'rotation': 2}),
    },
}

# name -> (client method, RPC method, args after ctxt and host, call?)
CALLS = {
    'ping': ('ping', 'ping', ('p',), {'trace_id': 't1'}, True),
    'reboot_soft': ('reboot_instance', 'reboot_instance', (UUID,), {},
                    False),
    'reboot_hard': ('reboot_instance', 'reboot_instance', (UUID,),
                    {'reboot_type': 'HARD'}, False),
    'uptime': ('get_host_uptime', 'get_host_uptime', (), {}, True),
    'backup': ('backup_instance', 'backup_instance', (UUID, 'b1'),
               {'rotation': 2}, False),
}

ANSWERS = {'ping': 'pong', 'get_host_uptime': 42}


class _Base(base.TestCase):

    def setUp(self):
        super().setUp()
        self.transport = self.useFixture(
            fakes.FakeTransport(self.conf)).transport

    def serve(self, version, host=HOST):
        endpoint = FakeCompute(version, answers=ANSWERS)
        self.useFixture(fakes.Server(self.transport, 'compute', endpoint,
                                     server=host))
        return endpoint

    def make_api(self, pin):
        self.flags(group='upgrade_levels', compute=pin)
        # Every version from 6.0 may be pinned with this history.
        api = rpcapi.ComputeAPI(self.transport,
                                history=fakes.history_from('liberty'))
        api.resolve(self.context)
        return api


class TestComputeAPIAtEachCap(_Base):

    @staticmethod
    def sends(prepare):
        # Every prepare addresses a message: can_send_version() answers
        # without preparing a context.
        return [c.kwargs for c in prepare.call_args_list]

    scenarios = [('cap-%s-%s' % (cap, name), {'cap': cap, 'call': name})
                 for cap in sorted(EXPECTED) for name in sorted(CALLS)]

    def test_call(self):
        endpoint = self.serve(self.cap)
        api = self.make_api(self.cap)
        self.assertEqual(self.cap, api.client.version_cap)
        method, rpc_method, args, kwargs, is_call = CALLS[self.call]
        expected = EXPECTED[self.cap][self.call]
        rpc_client = api.client
        with mock.patch.object(rpc_client, 'prepare',
                               wraps=rpc_client.prepare) as prepare:
            if expected[0] == 'unsupported':
                exc = self.assertRaises(
                    exception.UnsupportedRPCFeature,
                    getattr(api, method), self.context, HOST, *args,
                    **kwargs)
                self.assertEqual(
                    'Cannot call %s: it needs compute RPC version %s but '
                    'the version cap is %s (older services are still '
                    'running)' % (expected[1], expected[2], self.cap),
                    str(exc))
                self.assertEqual([], self.sends(prepare))
                endpoint.assert_nothing_received()
                return
            result = getattr(api, method)(self.context, HOST, *args,
                                          **kwargs)
        version, sent = expected
        self.assertEqual([{'server': HOST, 'version': version}],
                         self.sends(prepare))
        got_method, got_context, got_kwargs = endpoint.next_call()
        self.assertEqual((rpc_method, sent), (got_method, got_kwargs))
        self.assertEqual(self.context.request_id, got_context.request_id)
        self.assertEqual(ANSWERS.get(rpc_method) if is_call else None,
                         result)


class TestComputeAPIPins(_Base):

    def test_above_the_cap_nothing_is_sent(self):
        endpoint = self.serve('6.5')
        api = self.make_api('6.2')
        with mock.patch.object(self.transport, '_send',
                               wraps=self.transport._send) as send:
            cctxt = api.prepare(server=HOST, version='6.3')
            exc = self.assertRaises(
                messaging.RPCVersionCapError, cctxt.cast, self.context,
                'backup_instance', instance_uuid=UUID, name='b1')
            send.assert_not_called()
        self.assertEqual(('6.3', '6.2'), (exc.version, exc.version_cap))
        endpoint.assert_nothing_received()

    def test_pin_is_what_makes_an_old_compute_accept(self):
        endpoint = self.serve('6.2')
        unpinned = self.make_api(None)
        # The fake driver re-raises the server's UnsupportedVersion as is;
        # over RabbitMQ it arrives as a RemoteError of that type.
        exc = self.assertRaises(messaging.UnsupportedVersion, unpinned.ping,
                                self.context, HOST, 'p', trace_id='t1')
        self.assertEqual('6.5', exc.version)
        endpoint.assert_nothing_received()
        pinned = self.make_api('6.2')
        self.assertEqual('pong', pinned.ping(self.context, HOST, 'p',
                                             trace_id='t1'))
        self.assertEqual(('ping', {'payload': 'p'}),
                         endpoint.next_call()[::2])

    def test_capped_at_6_1_reboot_without_reboot_type(self):
        endpoint = self.serve('6.1')
        api = self.make_api('6.1')
        api.reboot_instance(self.context, HOST, UUID)
        self.assertEqual(('reboot_instance', {'instance_uuid': UUID}),
                         endpoint.next_call()[::2])

    def test_message_goes_to_the_host_given(self):
        other = self.serve('6.5', host='c2')
        endpoint = self.serve('6.5')
        api = self.make_api(None)
        api.reboot_instance(self.context, 'c2', UUID)
        self.assertEqual('reboot_instance', other.next_call()[0])
        endpoint.assert_nothing_received()

    def test_auto_pin_from_a_resolve_applies_to_methods(self):
        # The cap follows a re-resolve: the same API object back-levels
        # once the pin changes.
        endpoint = self.serve('6.5')
        api = self.make_api(None)
        api.reboot_instance(self.context, HOST, UUID, reboot_type='HARD')
        self.assertEqual('HARD', endpoint.next_call()[2]['reboot_type'])
        self.flags(group='upgrade_levels', compute='6.1')
        api.resolve(self.context)
        self.assertRaises(exception.UnsupportedRPCFeature,
                          api.reboot_instance, self.context, HOST, UUID,
                          reboot_type='HARD')

    def test_each_resolve_applies_to_the_next_send(self):
        # Down, up and down again: every answer follows the current cap.
        endpoint = self.serve('6.5')
        api = self.make_api('6.1')
        for pin, hard_sent in (('6.1', False), ('6.2', True),
                               ('6.1', False), ('6.2', True)):
            self.flags(group='upgrade_levels', compute=pin)
            api.resolve(self.context)
            if hard_sent:
                api.reboot_instance(self.context, HOST, UUID,
                                    reboot_type='HARD')
                self.assertEqual(('6.2', 'HARD'),
                                 (api.client.version_cap,
                                  endpoint.next_call()[2]['reboot_type']))
            else:
                self.assertRaises(exception.UnsupportedRPCFeature,
                                  api.reboot_instance, self.context, HOST,
                                  UUID, reboot_type='HARD')
                endpoint.assert_nothing_received()
