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
"""auto pins, the conductor indirection and the startup guards, for real.

Real conductor and compute processes, real RabbitMQ, a real database.
"""

from oslo_db.sqlalchemy import enginefacade
from oslo_db.sqlalchemy import test_fixtures
import oslo_messaging as messaging

from nova_versioning.compute import rpcapi as compute_rpcapi
from nova_versioning.conductor import rpcapi as conductor_rpcapi
from nova_versioning.db import api as db_api
from nova_versioning import exception
from nova_versioning import fixtures as nv_fixtures
from nova_versioning import objects
from nova_versioning.objects import base as obj_base
from nova_versioning.tests import base
from nova_versioning.tests.functional import rpc_base


class RPCPinningTestsMixin(object):

    def _compute_stats(self, host):
        client = self.raw_client('compute', server=host, version='6.0')
        return client.call(self.context, 'get_stats')

    def _record(self, host, binary):
        objects.Service.clear_min_version_cache()
        return objects.Service.get_by_host_and_binary(self.context, host,
                                                      binary)

    def _start_fleet(self):
        fleet = {'ctl1': self.start_service('conductor', 'ctl1')}
        # Oldest first: guard 1 refuses a compute older than the others.
        fleet['cpu-old'] = self.start_service('compute', 'cpu-old',
                                              release='ocata')
        fleet['cpu-new'] = self.start_service('compute', 'cpu-new')
        return fleet

    def _send_everything(self, api, host, uuid):
        """Every method of the compute API once: two calls, two casts.

        :returns: {method: 'accepted' or 'rejected'} for the calls; the
            casts are judged by what the compute handled.
        """
        outcome = {}
        for method, call in (
                ('ping', lambda: api.ping(self.context, host, 'hello',
                                          trace_id='t1')),
                ('get_host_uptime',
                 lambda: api.get_host_uptime(self.context, host))):
            try:
                call()
                outcome[method] = 'accepted'
            except messaging.RemoteError as exc:
                self.assertEqual('UnsupportedVersion', exc.exc_type)
                outcome[method] = 'rejected'
        api.reboot_instance(self.context, host, uuid, reboot_type='HARD')
        api.backup_instance(self.context, host, uuid, 'nightly', rotation=2)
        return outcome

    def test_auto_pin_is_accepted_by_old_compute_unpinned_is_rejected(self):
        # An ocata compute accepts compute RPC 6.3 at most; this code's
        # latest is 6.5. Per method, what each client sends (by hand from
        # compute/rpcapi.py):
        #
        #   method           kind  auto (cap 6.3)  unpinned (6.5)
        #   ping             call  6.0             6.5 (trace_id)
        #   get_host_uptime  call  6.1             6.1
        #   reboot_instance  cast  6.2             6.2
        #   backup_instance  cast  6.3             6.4 (rotation)
        cpu_old = self._start_fleet()['cpu-old']
        self.flags(compute='auto', group='upgrade_levels')
        api = compute_rpcapi.ComputeAPI(self.transport)
        decision = api.resolve(self.context)
        self.assertEqual(('auto', '6.3', 5, ('cpu-old',)),
                         (decision.source, decision.cap,
                          decision.minimum_version, decision.hosts))

        everything = {'ping': 1, 'get_host_uptime': 1, 'reboot_instance': 1,
                      'backup_instance': 1}
        for host, version, conductor in (('cpu-old', '6.3', '3.1'),
                                         ('cpu-new', '6.5', '3.2')):
            answer = api.ping(self.context, host, 'hello', trace_id='t0')
            # Capped at 6.3, ping goes as 6.0 and trace_id is dropped. The
            # computes' own clients are not pinned: each sends the latest
            # version its code knows.
            self.assertEqual({'service': 'nova-compute', 'host': host,
                              'payload': 'hello', 'trace_id': None,
                              'version': version,
                              'caps': {'compute': version,
                                       'conductor': conductor}}, answer)
            self.assertEqual(
                {'ping': 'accepted', 'get_host_uptime': 'accepted'},
                self._send_everything(api, host, 'uuid-%s' % host))
            expected = dict(everything, ping=2)
            self.wait_for(lambda: self._compute_stats(host) == expected,
                          what='the casts to %s' % host)
        # Every call and every cast of the pinned client was handled.
        self.assertEqual({'ping': 2, 'get_host_uptime': 1,
                          'reboot_instance': 1, 'backup_instance': 1},
                         self._compute_stats('cpu-old'))

        # The same client unpinned: the old compute rejects exactly the
        # messages that need 6.4 or 6.5, a call and a cast.
        self.flags(compute=None, group='upgrade_levels')
        self.assertEqual('6.5', api.resolve(self.context).cap)
        log_offset = cpu_old.log_size()
        self.assertEqual(
            {'ping': 'rejected', 'get_host_uptime': 'accepted'},
            self._send_everything(api, 'cpu-old', 'uuid-cpu-old'))
        # The rejected cast: the compute logs it and does not handle it.
        cpu_old.wait_for_log(r'Endpoint does not support RPC version 6\.4\. '
                             r'Attempted method: backup_instance',
                             start=log_offset, timeout=30)
        self.wait_for(lambda: self._compute_stats('cpu-old').get(
            'reboot_instance') == 2, what='the accepted cast to cpu-old')
        self.assertEqual({'ping': 2, 'get_host_uptime': 2,
                          'reboot_instance': 2, 'backup_instance': 1},
                         self._compute_stats('cpu-old'))
        # The new compute takes everything, trace_id included.
        self.assertEqual({'ping': 'accepted', 'get_host_uptime': 'accepted'},
                         self._send_everything(api, 'cpu-new', 'uuid-2'))
        self.assertEqual('t2', api.ping(self.context, 'cpu-new', 'hello',
                                        trace_id='t2')['trace_id'])
        self.wait_for(lambda: self._compute_stats('cpu-new') == {
            'ping': 4, 'get_host_uptime': 2, 'reboot_instance': 2,
            'backup_instance': 2}, what='the casts to cpu-new')

    def test_compute_registers_and_heartbeats_through_conductor(self):
        self.start_service('conductor', 'ctl1')
        compute = self.start_service('compute', 'cpu1', release='ocata')
        record = self._record('cpu1', 'nova-compute')
        # The compute's own database URL points nowhere: the record can
        # only have come through the conductor.
        self.assertEqual(5, record.version)
        self.assertEqual('compute', record.topic)
        first = record.report_count
        self.wait_for(lambda: self._record('cpu1', 'nova-compute')
                      .report_count >= first + 2, what='heartbeats')
        self.assertNotIn('no-database-here', compute.read_log().replace(
            'connection = sqlite:////nonexistent/no-database-here.sqlite',
            ''))

    def _without_database(self):
        broken = enginefacade.transaction_context()
        broken.configure(connection='sqlite:////nonexistent/dir/x.sqlite',
                         max_retries=0)
        self.useFixture(test_fixtures.ReplaceEngineFacadeFixture(
            db_api.main_context_manager, broken))
        conductor = conductor_rpcapi.ConductorAPI(self.transport)
        self.addCleanup(setattr, obj_base.NovaVersioningObject,
                        'indirection_api', None)
        obj_base.NovaVersioningObject.indirection_api = conductor
        return conductor

    def test_objects_through_conductor_from_process_without_db(self):
        self.start_service('conductor', 'ctl1')
        self.start_service('compute', 'cpu-old', release='pike')
        engine = self.db.engine
        self._without_database()
        objects.Service.clear_min_version_cache()
        self.assertEqual(6, objects.Service.get_minimum_version(
            self.context, 'nova-compute'))

        svc = objects.Service(self.context, host='remote1',
                              binary='nova-compute', topic='compute')
        svc.create()
        self.assertEqual(7, svc.version)
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT version FROM services WHERE host = 'remote1'"
            ).fetchall()
        self.assertEqual([(7,)], [tuple(r) for r in rows])

        # Guard 1 runs on the conductor; the refusal reaches the caller
        # as itself and nothing is written.
        old = objects.Service(self.context, host='remote2',
                              binary='nova-compute', topic='compute')
        with nv_fixtures.OlderRelease('ocata'):
            exc = self.assertRaises(exception.ServiceTooOld, old.create)
        self.assertIn('remote2', str(exc))
        self.assertIn('5 (ocata)', str(exc))
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT id FROM services WHERE host = 'remote2'").fetchall()
        self.assertEqual([], rows)

    def test_fresh_read_through_the_conductor_skips_its_cache(self):
        # This process plays a compute: no database, every read goes to
        # the conductor, whose cache would hide an upgrade for an hour.
        self.start_service('conductor', 'ctl1', extra={
            'versioning': {'minimum_version_cache_ttl': 3600}})
        with nv_fixtures.OlderRelease('pike'):
            objects.Service(self.context, host='cpu-old',
                            binary='nova-compute', topic='compute').create()
        engine = self.db.engine
        self._without_database()
        self.flags(compute='auto', group='upgrade_levels')
        api = compute_rpcapi.ComputeAPI(self.transport)
        # Primes the conductor's cache with the pike minimum.
        self.assertEqual('6.4', api.resolve(self.context).cap)

        # cpu-old is upgraded; the conductor is not told.
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE services SET version = 7 WHERE host = 'cpu-old'")
        get_minimum = objects.Service.get_minimum_version
        self.assertEqual(6, get_minimum(self.context, 'nova-compute'))
        self.assertEqual('6.4', api.resolve(self.context).cap)
        # A fresh read (what a reload asks for) sees it at once...
        self.assertEqual(7, get_minimum(self.context, 'nova-compute',
                                        fresh=True))
        decision = api.resolve(self.context, fresh=True)
        self.assertEqual(('6.5', 7, True),
                         (decision.cap, decision.minimum_version,
                          decision.latest))
        # ...and its answer is what the conductor caches from then on.
        self.assertEqual(7, get_minimum(self.context, 'nova-compute'))

    def test_indirection_refuses_what_is_not_remotable(self):
        self.start_service('conductor', 'ctl1')
        conductor = self._without_database()
        for objname, method in (('Service', 'clear_min_version_cache'),
                                ('Service', '_from_db_object'),
                                ('Service', 'save'),
                                ('Service', 'no_such_method'),
                                ('NoSuchObject', 'get_by_id')):
            exc = self.assertRaises(
                exception.ObjectActionNotAllowed,
                conductor.object_class_action_versions, self.context,
                objname, method, {objname: '1.0'}, (), {})
            self.assertIn('%s.%s' % (objname, method), str(exc))
        svc = objects.Service(self.context, host='h', binary='nova-compute')
        exc = self.assertRaises(
            exception.ObjectActionNotAllowed, conductor.object_action,
            self.context, svc, 'obj_reset_changes', (), {})
        self.assertIn('Service.obj_reset_changes', str(exc))

    def test_ancient_compute_refused_at_startup(self):
        self.start_service('conductor', 'ctl1')
        self.start_service('compute', 'cpu-new')
        ancient = self.spawn('compute', 'cpu-ancient', release='ocata')
        self.assertEqual(1, ancient.wait(timeout=60))
        log = ancient.read_log()
        self.assertNotIn('Traceback', log)
        errors = [line for line in log.splitlines()
                  if line.startswith('nova-versioning-compute: error: ')]
        self.assertEqual(1, len(errors), log)
        self.assertIn('Service nova-compute on host cpu-ancient is version '
                      '5 (ocata), older than the minimum version 7 (queens)',
                      errors[0])
        self.assertIn('Upgrade cpu-ancient', errors[0])
        self.assertIsNone(self._record('cpu-ancient', 'nova-compute'))

    def test_conductor_refuses_to_start_with_too_old_compute(self):
        with nv_fixtures.OlderRelease('newton'):
            objects.Service(self.context, host='cpu-newton',
                            binary='nova-compute', topic='compute').create()
        conductor = self.spawn('conductor', 'ctl1')
        self.assertEqual(1, conductor.wait(timeout=60))
        log = conductor.read_log()
        self.assertNotIn('Traceback', log)
        errors = [line for line in log.splitlines()
                  if line.startswith('nova-versioning-conductor: error: ')]
        self.assertEqual(1, len(errors), log)
        self.assertIn('cpu-newton (version 3 (newton))', errors[0])
        self.assertIsNone(self._record('ctl1', 'nova-conductor'))

        # The fast-forward upgrade workaround lets it start.
        self.start_service('conductor', 'ctl2', extra={
            'workarounds': {'disable_compute_service_check_for_ffu': True}})
        self.assertIsNotNone(self._record('ctl2', 'nova-conductor'))


class RPCPinningSQLiteTestCase(RPCPinningTestsMixin,
                               rpc_base.RPCFunctionalTestCase):
    pass


class RPCPinningMySQLTestCase(base.MySQLMixin, RPCPinningTestsMixin,
                              rpc_base.RPCFunctionalTestCase):
    pass


class RPCPinningPostgreSQLTestCase(base.PostgreSQLMixin,
                                   RPCPinningTestsMixin,
                                   rpc_base.RPCFunctionalTestCase):
    pass
