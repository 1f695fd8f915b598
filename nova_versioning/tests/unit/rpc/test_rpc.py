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
"""Transport, client, server and serializer helpers."""

import oslo_messaging as messaging

from nova_versioning import context as nv_context
from nova_versioning import exception
from nova_versioning import objects
from nova_versioning import rpc
from nova_versioning.tests import base
from nova_versioning.tests.unit.rpc import fakes


class Echo(fakes.Recorder):
    def echo(self, context, **kwargs):
        self._record('echo', context, kwargs)
        return kwargs['value']

    def fail(self, context):
        raise exception.ServiceNotFound(service='nova-compute on c1')


class TestSerializer(base.TestCase):

    def test_context_round_trip(self):
        serializer = rpc.RequestContextSerializer()
        ctxt = nv_context.RequestContext(user_id='u1', project_id='p1',
                                         is_admin=True, overwrite=False)
        primitive = serializer.serialize_context(ctxt)
        self.assertIsInstance(primitive, dict)
        back = serializer.deserialize_context(primitive)
        self.assertIsInstance(back, nv_context.RequestContext)
        self.assertEqual(('u1', 'p1', True, ctxt.request_id),
                         (back.user_id, back.project_id, back.is_admin,
                          back.request_id))

    def test_objects_round_trip(self):
        serializer = rpc.RequestContextSerializer()
        service = objects.Service(host='c1', binary='nova-compute')
        primitive = serializer.serialize_entity(self.context, service)
        self.assertEqual('Service', primitive['nova_versioning_object.name'])
        back = serializer.deserialize_entity(self.context, primitive)
        self.assertIsInstance(back, objects.Service)
        self.assertEqual(('c1', 'nova-compute'), (back.host, back.binary))


class TestClientServer(base.TestCase):

    def setUp(self):
        super().setUp()
        self.transport = self.useFixture(
            fakes.FakeTransport(self.conf)).transport
        self.endpoint = Echo('1.0')
        self.useFixture(fakes.Server(self.transport, 'echo', self.endpoint,
                                     server='h1'))
        self.client = rpc.get_client(
            self.transport, messaging.Target(topic='echo', version='1.0'))

    def test_transport_url_is_oslo_messaging_option(self):
        self.assertEqual('fake:/', self.conf.transport_url)

    def test_context_and_objects_cross_the_wire(self):
        service = objects.Service(host='c1', binary='nova-compute')
        ctxt = nv_context.RequestContext(user_id='u1', overwrite=False)
        result = self.client.prepare(server='h1').call(ctxt, 'echo',
                                                       value=service)
        self.assertIsInstance(result, objects.Service)
        self.assertEqual('c1', result.host)
        method, got_ctxt, kwargs = self.endpoint.next_call()
        self.assertIsInstance(got_ctxt, nv_context.RequestContext)
        self.assertEqual(ctxt.request_id, got_ctxt.request_id)
        self.assertEqual('u1', got_ctxt.user_id)
        self.assertIsInstance(kwargs['value'], objects.Service)

    def test_library_exceptions_arrive_as_themselves(self):
        exc = self.assertRaises(
            exception.ServiceNotFound,
            self.client.prepare(server='h1').call, self.context, 'fail')
        self.assertIn('nova-compute on c1', str(exc))

    def test_version_cap_given_to_client(self):
        client = rpc.get_client(
            self.transport, messaging.Target(topic='echo', version='1.3'),
            version_cap='1.2')
        self.assertTrue(client.can_send_version('1.2'))
        self.assertFalse(client.can_send_version('1.3'))
        self.assertIsInstance(client.serializer,
                              rpc.RequestContextSerializer)
