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
"""Forged RPC to a real conductor process is refused, nothing written.

The test plays a client of the broker with bad intentions: a plain
oslo.messaging client, allowing no exception modules (so a refusal comes
back as a RemoteError), sending to a real conductor process over
RabbitMQ, on MariaDB and on PostgreSQL. Each forged call must be refused
with the rule named, leave every row as it was, and be logged by the
conductor at WARNING with the caller's context, without a traceback.
"""

import oslo_messaging as messaging
import sqlalchemy as sa

from nova_versioning import objects
from nova_versioning import rpc
from nova_versioning.tests import base
from nova_versioning.tests.functional import rpc_base

MAX_INT = 2147483647


class ForgeryTestsMixin(object):

    def setUp(self):
        super().setUp()
        self.conductor = self.start_service('conductor', 'ctl1')
        # Another host's compute record (written here, with database
        # access, as that compute would through the conductor).
        objects.Service(self.context, host='cpu1', binary='nova-compute',
                        topic='compute', report_count=0, disabled=False,
                        forced_down=False).create()
        # Heartbeats move report_count and last_seen_up: compare the rest.
        self.before = self.rows_now()
        transport = messaging.get_rpc_transport(self.conf)
        self.addCleanup(transport.cleanup)
        self.forger = messaging.get_rpc_client(
            transport, messaging.Target(topic='conductor', server='ctl1',
                                        version='3.0'),
            serializer=rpc.RequestContextSerializer()).prepare(timeout=30)

    def rows_now(self):
        with self.db.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(
                'SELECT id, host, "binary", topic, version, deleted, '
                'forced_down, uuid FROM services ORDER BY id'
                if self.BACKEND == 'postgresql' else
                'SELECT id, host, `binary`, topic, version, deleted, '
                'forced_down, uuid FROM services ORDER BY id'))]

    def record(self, host, binary='nova-compute'):
        return objects.Service.get_by_host_and_binary(self.context, host,
                                                      binary)

    def refused(self, method, rule, reason, **kwargs):
        offset = self.conductor.log_size()
        exc = self.assertRaises(messaging.RemoteError, self.forger.call,
                                self.context, method, **kwargs)
        self.assertEqual('IndirectionRefused', exc.exc_type)
        self.assertIn('through the conductor (rule: %s): ' % rule,
                      exc.value)
        self.assertIn(reason, exc.value)
        self.assertEqual(self.before, self.rows_now())
        log = self.conductor.wait_for_log(
            r'WARNING nova_versioning\.conductor\.manager .*Refused an '
            r'indirection call from .*request req-', start=offset)
        self.assertTrue(log)
        self.assertNotIn('Traceback', self.conductor.read_log(offset))
        return exc

    def test_forged_and_malformed_calls_are_refused(self):
        # One conductor serves every case: each refusal leaves the rows as
        # they were.
        self._forged_save_of_another_hosts_record_at_max_int()
        self._forged_create_at_max_int()
        self._destroy()
        self._malformed_calls()
        # The conductor still admits an honest compute of this release,
        # which registers through it.
        self.start_service('compute', 'cpu2')
        self.assertEqual(7, self.record('cpu2').version)

    def _forged_save_of_another_hosts_record_at_max_int(self):
        compute = self.record('cpu1')
        compute._set_version(MAX_INT)
        self.refused('object_action', 'service version range',
                     'version 2147483647 is outside 1..17',
                     objinst=compute, objmethod='_save', args=[],
                     kwargs={})

    def _forged_create_at_max_int(self):
        forged = objects.Service(self.context, host='ctl-forged',
                                 binary='nova-conductor', topic='conductor',
                                 report_count=0, disabled=False,
                                 forced_down=False)
        forged._set_version(MAX_INT)
        self.refused('object_action', 'service version range',
                     'version 2147483647 is outside',
                     objinst=forged, objmethod='_create', args=[],
                     kwargs={})

    def _destroy(self):
        self.refused('object_action', 'no destroy',
                     'records are deleted by an operator',
                     objinst=self.record('cpu1'), objmethod='destroy',
                     args=[], kwargs={})

    def _malformed_calls(self):
        good = {'objname': 'Service', 'objmethod': 'get_minimum_version',
                'object_versions': {'Service': '1.1'},
                'args': ['nova-compute'], 'kwargs': {}}
        self.assertEqual(7, self.forger.call(
            self.context, 'object_class_action_versions', **good))
        for version in ('abc', '', '-1.0'):
            self.refused('object_class_action_versions',
                         'well-formed request',
                         'object_versions must map object names to '
                         'versions "X.Y"',
                         **dict(good, object_versions={'Service': version}))
        self.refused('object_class_action_versions', 'well-formed request',
                     'object_versions must be a dict',
                     **dict(good, object_versions=[['Service', '1.1']]))
        self.refused('object_class_action_versions', 'well-formed request',
                     'objmethod must be a non-empty string',
                     **dict(good, objmethod=42))
        missing = dict(good)
        del missing['args']
        self.refused('object_class_action_versions', 'well-formed request',
                     'missing argument(s): args', **missing)
        self.refused('object_class_action_versions', 'matching arguments',
                     "missing a required argument: 'binary'",
                     **dict(good, args=[]))
        primitive = self.record('cpu1').obj_to_primitive()
        primitive['nova_versioning_object.version'] = 'abc'
        self.refused('object_action', 'well-formed request',
                     'objinst could not be read',
                     objinst=primitive, objmethod='_save', args=[],
                     kwargs={})


class ForgeryMySQLTestCase(base.MySQLMixin, ForgeryTestsMixin,
                           rpc_base.RPCFunctionalTestCase):
    pass


class ForgeryPostgreSQLTestCase(base.PostgreSQLMixin, ForgeryTestsMixin,
                                rpc_base.RPCFunctionalTestCase):
    pass
