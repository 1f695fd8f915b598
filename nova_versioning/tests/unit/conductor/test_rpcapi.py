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
"""The conductor RPC client: indirection API, ping, and auto pinning
through the indirection API itself (a host without database access)."""

import fixtures
from oslo_versionedobjects import base as ovo_base

from nova_versioning.conductor import rpcapi
from nova_versioning import exception
from nova_versioning import objects
from nova_versioning.objects import base as objects_base
from nova_versioning.tests import base
from nova_versioning.tests.unit.rpc import fakes


class FakeConductor(fakes.Recorder):
    """Answers the indirection calls from a table, recording them."""

    def __init__(self, version, class_answers=None, answers=None):
        super().__init__(version, answers=answers)
        self.class_answers = class_answers or {}

    def object_class_action_versions(self, context, **kwargs):
        self._record('object_class_action_versions', context, kwargs)
        return self.class_answers[kwargs['objmethod']]

    def object_action(self, context, **kwargs):
        self._record('object_action', context, kwargs)
        return {'report_count': 5}, 'done'

    def object_backport_versions(self, context, **kwargs):
        self._record('object_backport_versions', context, kwargs)
        return kwargs['objinst'].obj_to_primitive()

    def ping(self, context, **kwargs):
        return self._record('ping', context, kwargs)


class TestConductorAPI(base.TestCase):

    def setUp(self):
        super().setUp()
        self.transport = self.useFixture(
            fakes.FakeTransport(self.conf)).transport

    def serve(self, version, **kwargs):
        endpoint = FakeConductor(version, **kwargs)
        self.useFixture(fakes.Server(self.transport, 'conductor', endpoint,
                                     server='cond1'))
        return endpoint

    def indirect_through(self, api):
        self.useFixture(fixtures.MonkeyPatch(
            'nova_versioning.objects.base.NovaVersioningObject.'
            'indirection_api', api))

    def test_is_an_indirection_api(self):
        self.assertTrue(issubclass(rpcapi.ConductorAPI,
                                   ovo_base.VersionedObjectIndirectionAPI))

    def test_remotable_classmethod_goes_to_the_conductor_before_resolve(self):
        endpoint = self.serve('3.0', class_answers={
            'get_minimum_version': 5})
        api = rpcapi.ConductorAPI(self.transport)
        self.indirect_through(api)
        self.assertIsNone(api.decision)
        self.assertEqual(5, objects.Service.get_minimum_version(
            self.context, 'nova-compute'))
        method, context, kwargs = endpoint.next_call()
        self.assertEqual('object_class_action_versions', method)
        self.assertEqual(
            {'objname': 'Service', 'objmethod': 'get_minimum_version',
             'object_versions': {'Service': objects.Service.VERSION},
             'args': ['nova-compute'], 'kwargs': {}},
            dict(kwargs, args=list(kwargs['args'])))
        self.assertEqual(self.context.request_id, context.request_id)

    def test_before_resolve_only_3_0_can_be_sent(self):
        self.serve('3.2')
        api = rpcapi.ConductorAPI(self.transport)
        exc = self.assertRaises(exception.UnsupportedRPCFeature, api.ping,
                                self.context, 'p')
        self.assertEqual(
            'Cannot call ping: it needs conductor RPC version 3.1 but the '
            'version cap is 3.0 (older services are still running)',
            str(exc))

    def test_remotable_method_goes_to_the_conductor(self):
        endpoint = self.serve('3.0')
        api = rpcapi.ConductorAPI(self.transport)
        self.indirect_through(api)
        service = objects.Service(context=self.context, id=1, host='c1',
                                  binary='nova-compute', report_count=4)
        service.obj_reset_changes()
        self.assertEqual('done', service.destroy())
        method, _ctx, kwargs = endpoint.next_call()
        self.assertEqual(('object_action', 'destroy', [], {}),
                         (method, kwargs['objmethod'], list(kwargs['args']),
                          kwargs['kwargs']))
        self.assertEqual('c1', kwargs['objinst'].host)
        # The updates answered are applied to the caller's object.
        self.assertEqual(5, service.report_count)

    def test_backport(self):
        endpoint = self.serve('3.0')
        api = rpcapi.ConductorAPI(self.transport)
        service = objects.Service(host='c1', binary='nova-compute')
        # The primitive answered arrives deserialized, as
        # oslo.versionedobjects expects of object_backport_versions.
        backported = api.object_backport_versions(
            self.context, service, {'Service': '1.0'})
        self.assertIsInstance(backported, objects.Service)
        self.assertEqual('c1', backported.host)
        method, _ctx, kwargs = endpoint.next_call()
        self.assertEqual(('object_backport_versions', {'Service': '1.0'}),
                         (method, kwargs['object_versions']))

    def test_single_version_class_action_not_implemented(self):
        api = rpcapi.ConductorAPI(self.transport)
        self.assertRaises(NotImplementedError, api.object_class_action,
                          self.context, 'Service', 'get_all', '1.0', (), {})

    def test_auto_resolves_through_the_indirection_api(self):
        # On a host without database access, deciding the conductor cap
        # reads the minimum conductor version through the conductor.
        holder = objects.Service(host='cond-old', binary='nova-conductor')
        endpoint = self.serve('3.2', class_answers={
            'get_minimum_version': 3,
            'get_all_at_minimum_version': [holder]})
        self.flags(group='upgrade_levels', conductor='auto')
        api = rpcapi.ConductorAPI(self.transport)
        self.indirect_through(api)
        decision = api.resolve(self.context)
        self.assertEqual(('3.1', 3, ('cond-old',)),
                         (decision.cap, decision.minimum_version,
                          decision.hosts))
        self.assertEqual(
            [('get_minimum_version', ['nova-conductor']),
             ('get_all_at_minimum_version', ['nova-conductor'])],
            [(kw['objmethod'], list(kw['args']))
             for _m, _c, kw in (endpoint.next_call(), endpoint.next_call())])
        # Capped at 3.1: ping back-levels and drops trace_id.
        api.ping(self.context, 'p', trace_id='t1')
        self.assertEqual(('ping', {'payload': 'p'}),
                         endpoint.next_call()[::2])

    def test_auto_without_conductor_refreshes_without_recursion(self):
        endpoint = self.serve('3.2', class_answers={
            'get_minimum_version': 0})
        self.flags(group='upgrade_levels', conductor='auto')
        api = rpcapi.ConductorAPI(self.transport)
        self.indirect_through(api)
        self.assertFalse(api.resolve(self.context).cacheable)
        endpoint.next_call()
        # Each use decides again, itself through the conductor, once.
        api.ping(self.context, 'p', trace_id='t1')
        self.assertEqual('get_minimum_version',
                         endpoint.next_call()[2]['objmethod'])
        self.assertEqual(('ping', {'payload': 'p', 'trace_id': 't1'}),
                         endpoint.next_call()[::2])
        endpoint.assert_nothing_received()

    def test_ping_3_2(self):
        endpoint = self.serve('3.2', answers={'ping': 'pong'})
        api = rpcapi.ConductorAPI(self.transport)
        api.resolve(self.context)
        self.assertEqual('pong', api.ping(self.context, 'p', trace_id='t1'))
        self.assertEqual(('ping', {'payload': 'p', 'trace_id': 't1'}),
                         endpoint.next_call()[::2])

    def test_serializer_is_the_library_one(self):
        api = rpcapi.ConductorAPI(self.transport)
        api.resolve(self.context)
        self.assertIsInstance(api.client.serializer._base,
                              objects_base.NovaVersioningObjectSerializer)
