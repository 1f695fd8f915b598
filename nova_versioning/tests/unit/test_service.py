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
"""RPCService: validate, guard and register; serve, pin and heartbeat.

On fake:// with the services schema on SQLite.
"""

import datetime
import logging
import os
import subprocess
import sys
import time
from unittest import mock

import fixtures
from oslo_db import exception as db_exc
import oslo_messaging as messaging
from oslo_utils import timeutils

from nova_versioning.compute import manager as compute_manager
from nova_versioning.compute import rpcapi as compute_rpcapi
from nova_versioning.conductor import manager as conductor_manager
from nova_versioning.conductor import rpcapi as conductor_rpcapi
from nova_versioning import exception
from nova_versioning import fixtures as nv_fixtures
from nova_versioning import objects
from nova_versioning.objects import base as objects_base
from nova_versioning import service
from nova_versioning.tests import base
from nova_versioning.tests.unit.conductor import test_manager
from nova_versioning.tests.unit.rpc import fakes

rows = test_manager.rows


class _ServiceTestCase(base.DBTestCase):

    def setUp(self):
        super().setUp()
        # [DEFAULT]/transport_url = fake:/ for the services too.
        self.transport = self.useFixture(
            fakes.FakeTransport(self.conf)).transport
        self.log = self.useFixture(fixtures.FakeLogger(
            name='nova_versioning.service', level=logging.INFO))

    def conductor(self, **kwargs):
        kwargs.setdefault('control', True)
        return service.RPCService(
            'nova-conductor', 'conductor', conductor_manager.ConductorManager,
            host='cond1', conf=self.conf, **kwargs)

    def compute(self, **kwargs):
        kwargs.setdefault('host', 'c1')
        return service.RPCService(
            'nova-compute', 'compute', compute_manager.ComputeManager,
            conf=self.conf, **kwargs)

    def record(self, host, binary='nova-compute', release=None, topic=None):
        svc = objects.Service(self.context, host=host, binary=binary,
                              topic=topic or binary[5:], report_count=0,
                              disabled=False, forced_down=False)
        if release is None:
            svc.create()
        else:
            with nv_fixtures.OlderRelease(release, conf=self.conf):
                svc.create()
        return svc

    def start(self, svc):
        svc.start()
        self.addCleanup(svc.stop)
        return svc


class TestPrepare(_ServiceTestCase):

    def test_registers_a_new_record(self):
        svc = self.conductor()
        svc.prepare()
        self.assertEqual([('cond1', 'nova-conductor', 'conductor', 7, 0,
                           False)], rows(self.context))
        self.assertEqual(('cond1', 7, set()),
                         (svc.record.host, svc.record.version,
                          svc.record.obj_what_changed()))
        self.assertIn('Registered nova-conductor on cond1 at version 7',
                      self.log.output)

    def test_re_registers_an_existing_record(self):
        old = self.record('cond1', binary='nova-conductor', release='pike',
                          topic='old-topic')
        old.report_count = 5
        old.save()
        svc = self.conductor()
        svc.prepare()
        # This code's version and topic are written; the rest is kept.
        self.assertEqual([('cond1', 'nova-conductor', 'conductor', 7, 5,
                           False)], rows(self.context))
        self.assertEqual((old.id, old.uuid), (svc.record.id, svc.record.uuid))
        self.assertIn('Re-registered nova-conductor on cond1 at version 7',
                      self.log.output)

    def test_registration_is_a_heartbeat(self):
        old = self.record('cond1', binary='nova-conductor')
        stale = timeutils.utcnow() - datetime.timedelta(hours=1)
        old.last_seen_up = stale
        old.save()
        svc = self.conductor()
        svc.prepare()
        seen = objects.Service.get_by_id(self.context,
                                         old.id).last_seen_up
        self.assertGreater(seen.replace(tzinfo=None), stale)
        # The re-registration itself wrote this code's version first.
        self.assertEqual(7, svc.record.version)

    def test_new_record_starts_with_a_heartbeat(self):
        svc = self.conductor()
        svc.prepare()
        self.assertIsNotNone(objects.Service.get_by_id(
            self.context, svc.record.id).last_seen_up)

    def test_refused_when_older_than_the_others(self):
        self.record('cond2', binary='nova-conductor')
        before = rows(self.context)
        with nv_fixtures.OlderRelease('pike', conf=self.conf):
            exc = self.assertRaises(exception.ServiceTooOld,
                                    self.conductor().prepare)
        self.assertEqual(
            # Running as pike, the process knows no release name for 7.
            'Service nova-conductor on host cond1 is version 6 (pike), '
            'older than the minimum version 7 of the other '
            'nova-conductor services: refusing to register it, nothing was '
            'written. Upgrade cond1 to version 7 or newer; or, if '
            'the newer nova-conductor services are gone for good, delete or '
            'force down their records so they stop counting toward the '
            'minimum.', str(exc))
        self.assertEqual(before, rows(self.context))

    def test_re_registration_refused_when_older_than_the_others(self):
        self.record('cond1', binary='nova-conductor', release='pike',
                    topic='old-topic')
        self.record('cond2', binary='nova-conductor')
        before = rows(self.context)
        svc = self.conductor()
        with nv_fixtures.OlderRelease('pike', conf=self.conf):
            self.assertRaises(exception.ServiceTooOld, svc.prepare)
        # Not even the topic was written.
        self.assertEqual(before, rows(self.context))
        self.assertIsNone(svc.record)

    def _ancient_computes(self):
        # Oldest first, so that each one passes guard 1.
        self.record('ancient2', release='mitaka')
        self.record('ancient1', release='newton')
        self.record('new')

    def test_control_service_refuses_too_old_computes(self):
        self._ancient_computes()
        before = rows(self.context)
        exc = self.assertRaises(exception.TooOldComputeService,
                                self.conductor().prepare)
        self.assertEqual(
            'Current sample service version does not support computes '
            'older than Ocata but the minimum compute service level in '
            'your cell is 2 and the oldest supported service level is 4. '
            'nova-conductor refuses to start: these nova-compute services '
            'are older: ancient2 (version 2 (mitaka)), ancient1 '
            '(version 3 (newton)). Upgrade them, or delete or force down '
            'their records if they are gone; during a fast-forward upgrade '
            'set [workarounds]/disable_compute_service_check_for_ffu on '
            'nova-conductor to start anyway.', str(exc))
        self.assertEqual(before, rows(self.context))

    def test_ffu_workaround_lets_the_control_service_register(self):
        self._ancient_computes()
        self.flags(group='workarounds',
                   disable_compute_service_check_for_ffu=True)
        self.conductor().prepare()
        self.assertEqual(
            [('cond1', 'nova-conductor', 'conductor', 7, 0, False)],
            [row for row in rows(self.context) if row[1] == 'nova-conductor'])

    def test_guard_2_is_for_control_services_only(self):
        self._ancient_computes()
        self.conductor(control=False).prepare()
        self.assertEqual(
            [('cond1', 'nova-conductor', 'conductor', 7, 0, False)],
            [row for row in rows(self.context) if row[1] == 'nova-conductor'])

    def test_invalid_pin_before_anything_is_written(self):
        self.flags(group='upgrade_levels', compute='banana')
        with mock.patch.object(objects.Service,
                               'get_by_host_and_binary') as lookup:
            exc = self.assertRaises(exception.InvalidPin,
                                    self.conductor().prepare)
        lookup.assert_not_called()
        self.assertEqual(
            "Invalid value 'banana' for option [upgrade_levels]/compute: "
            "expected 'auto', a version from 6.2 to 6.5 or a release name "
            "(ocata, pike, queens)", str(exc))
        self.assertEqual([], rows(self.context))

    def test_every_upgrade_levels_option_is_validated(self):
        # The conductor sends to compute and scheduler only; a pin of the
        # conductor API is still refused.
        self.flags(group='upgrade_levels', conductor='banana')
        exc = self.assertRaises(exception.InvalidPin,
                                self.conductor().prepare)
        self.assertEqual(
            "Invalid value 'banana' for option [upgrade_levels]/conductor: "
            "expected 'auto', a version from 3.1 to 3.2 or a release name "
            "(ocata, pike, queens)", str(exc))
        self.assertEqual([], rows(self.context))

    def test_invalid_pin_comes_before_guard_2(self):
        self._ancient_computes()
        before = rows(self.context)
        self.flags(group='upgrade_levels', scheduler='9.0')
        self.assertRaises(exception.InvalidPin, self.conductor().prepare)
        self.assertEqual(before, rows(self.context))


class TestStartStop(_ServiceTestCase):

    def test_pins_resolved(self):
        self.record('c2', release='pike')
        self.flags(group='upgrade_levels', compute='auto',
                   scheduler='ocata')
        svc = self.conductor()
        svc.prepare()
        self.start(svc)
        decisions = svc.apis.decisions()
        self.assertEqual(
            [('compute', 'auto', '6.4', 6, ('c2',)),
             ('scheduler', 'alias', '2.1', None, ())],
            [(name, d.source, d.cap, d.minimum_version, tuple(d.hosts))
             for name, d in decisions])
        self.assertEqual('3.2', svc.manager.target.version)

    def test_serves_its_rpc_api(self):
        svc = self.compute()
        svc.prepare()
        self.start(svc)
        self.assertEqual(
            [('conductor', 'latest', '3.2'), ('compute', 'latest', '6.5')],
            [(name, d.source, d.cap) for name, d in svc.apis.decisions()])
        api = compute_rpcapi.ComputeAPI(self.transport, conf=self.conf)
        api.resolve(self.context)
        self.assertEqual(
            {'service': 'nova-compute', 'host': 'c1', 'payload': 'hello',
             'trace_id': 't1', 'version': '6.5',
             'caps': {'compute': '6.5', 'conductor': '3.2'}},
            api.ping(self.context, 'c1', 'hello', trace_id='t1'))
        self.assertEqual({'ping': 1}, svc.manager.get_stats(self.context))
        self.assertIn('nova-compute on c1 serving compute RPC version 6.5',
                      self.log.output)

    def test_serves_as_an_older_release(self):
        with nv_fixtures.OlderRelease('pike', conf=self.conf):
            svc = self.compute()
            svc.prepare()
            self.start(svc)
        self.assertEqual('6.4', svc.manager.target.version)
        self.assertEqual([('c1', 'nova-compute', 'compute', 6, 0, False)],
                         rows(self.context))
        api = compute_rpcapi.ComputeAPI(self.transport, conf=self.conf)
        api.resolve(self.context)
        self.assertRaises(messaging.UnsupportedVersion, api.ping,
                          self.context, 'c1', 'hello', trace_id='t1')

    def test_start_without_prepare_reads_the_record(self):
        existing = self.record('c1')
        svc = self.start(self.compute())
        self.assertEqual(existing.id, svc.record.id)

    def test_report_state_increments_report_count(self):
        svc = self.compute()
        svc.prepare()
        self.start(svc)
        svc._report_state()
        svc._report_state()
        self.assertEqual([('c1', 'nova-compute', 'compute', 7, 2, False)],
                         rows(self.context))
        self.assertIsNotNone(svc.record.last_seen_up)

    def test_heartbeat_record_matches_the_database(self):
        svc = self.compute()
        svc.prepare()
        self.start(svc)
        svc._report_state()
        db_row = objects.Service.get_by_host_and_binary(
            self.context, 'c1', 'nova-compute')
        # A DateTimeField is timezone-aware (UTC) however the object was
        # obtained: written by this process or read back from the row.
        self.assertEqual(svc.record.last_seen_up, db_row.last_seen_up)
        self.assertEqual(
            ['UTC', 'UTC', 'UTC'],
            [str(value.tzinfo) for value in (
                db_row.last_seen_up, db_row.created_at, db_row.updated_at)])

    def test_heartbeat_keeps_an_older_release_record(self):
        with nv_fixtures.OlderRelease('pike', conf=self.conf):
            svc = self.compute()
            svc.prepare()
        # The code is upgraded under the running service: its heartbeat
        # does not re-register it at the new version.
        self.start(svc)
        svc._report_state()
        self.assertEqual([('c1', 'nova-compute', 'compute', 6, 1, False)],
                         rows(self.context))

    def test_heartbeat_runs_every_report_interval(self):
        self.flags(report_interval=1)
        svc = self.compute()
        svc.prepare()
        self.start(svc)
        deadline = time.monotonic() + fakes.WAIT
        while rows(self.context)[0][4] < 1:
            if time.monotonic() > deadline:
                self.fail('no heartbeat in %s seconds' % fakes.WAIT)
            time.sleep(0.05)

    def test_failing_heartbeat_is_logged_not_raised(self):
        svc = self.compute()
        svc.prepare()
        self.start(svc)
        with mock.patch('nova_versioning.db.api.service_update',
                        side_effect=db_exc.DBConnectionError(
                            'database is gone')):
            svc._report_state()
        self.assertIn('Heartbeat of nova-compute on c1 failed: database is '
                      'gone', self.log.output)
        self.assertEqual([('c1', 'nova-compute', 'compute', 7, 0, False)],
                         rows(self.context))
        self.assertEqual(set(), svc.record.obj_what_changed())
        # The next heartbeat writes again, and the record matches the row.
        svc._report_state()
        self.assertEqual(
            [('c1', 'nova-compute', 'compute', 7, svc.record.report_count,
              False)], rows(self.context))
        self.assertGreater(svc.record.report_count, 0)

    def test_report_state_without_a_record(self):
        svc = self.compute()
        svc._report_state()
        self.assertEqual([], rows(self.context))

    def test_stop(self):
        self.flags(report_interval=1)
        svc = self.compute()
        svc.prepare()
        svc.start()
        svc.stop()
        self.assertIsNone(objects_base.NovaVersioningObject.indirection_api)
        # Nothing answers on c1 any more.
        api = compute_rpcapi.ComputeAPI(self.transport, conf=self.conf)
        api.resolve(self.context)
        cctxt = api.client.prepare(server='c1', version='6.0', timeout=0.5)
        self.assertRaises(messaging.MessagingTimeout, cctxt.call,
                          self.context, 'ping', payload='p')
        self.assertEqual({}, svc.manager.get_stats(self.context))
        # Its heartbeat stopped too.
        time.sleep(1.2)
        self.assertEqual([('c1', 'nova-compute', 'compute', 7, 0, False)],
                         rows(self.context))


class TestWithoutDatabaseAccess(_ServiceTestCase):
    """A compute registers and heartbeats through a conductor."""

    def setUp(self):
        super().setUp()
        self.conductor_endpoint = test_manager.CountingConductor(
            host='cond1', conf=self.conf)
        self.useFixture(fakes.Server(self.transport, 'conductor',
                                     self.conductor_endpoint,
                                     server='cond1'))
        # Both ends share this process: only the test's thread may see
        # the indirection API the service sets (see CallerOnlyIndirection).
        real = service.RPCService._use_conductor

        def use_conductor(svc, api):
            return real(svc, test_manager.CallerOnlyIndirection(api))

        self.useFixture(fixtures.MonkeyPatch(
            'nova_versioning.service.RPCService._use_conductor',
            use_conductor))
        self.addCleanup(setattr, objects_base.NovaVersioningObject,
                        'indirection_api', None)

    def test_prepare_registers_through_the_conductor(self):
        svc = self.compute(db_access=False)
        svc.prepare()
        self.assertEqual(
            [('object_class_action_versions', 'Service',
              'get_by_host_and_binary'),
             ('object_action', 'Service', '_create')],
            self.conductor_endpoint.calls)
        self.assertEqual([('c1', 'nova-compute', 'compute', 7, 0, False)],
                         rows(self.context))
        self.assertIsNone(objects_base.NovaVersioningObject.indirection_api)

    def test_guard_1_applies_remotely(self):
        self.record('c2')
        before = rows(self.context)
        with nv_fixtures.OlderRelease('pike', conf=self.conf):
            exc = self.assertRaises(exception.ServiceTooOld,
                                    self.compute(db_access=False).prepare)
        self.assertEqual((6, 7), (exc.thisver, exc.minver))
        self.assertEqual(before, rows(self.context))
        self.assertEqual(
            [('object_class_action_versions', 'Service',
              'get_by_host_and_binary'),
             ('object_action', 'Service', '_create')],
            self.conductor_endpoint.calls)
        self.assertIsNone(objects_base.NovaVersioningObject.indirection_api)

    def test_start_and_heartbeat_through_the_conductor(self):
        self.flags(group='upgrade_levels', conductor='auto')
        self.record('cond1', binary='nova-conductor', release='ocata')
        svc = self.compute(db_access=False)
        svc.prepare()
        del self.conductor_endpoint.calls[:]
        self.start(svc)
        self.assertEqual(
            [('conductor', 'auto', '3.1', 5),
             ('compute', 'latest', '6.5', None)],
            [(name, d.source, d.cap, d.minimum_version)
             for name, d in svc.apis.decisions()])
        svc._report_state()
        self.assertEqual(
            [('object_class_action_versions', 'Service',
              'get_minimum_version'),
             ('object_class_action_versions', 'Service',
              'get_all_at_minimum_version'),
             ('object_action', 'Service', '_save')],
            self.conductor_endpoint.calls)
        self.assertEqual(
            [('c1', 'nova-compute', 'compute', 7, 1, False),
             ('cond1', 'nova-conductor', 'conductor', 5, 0, False)],
            rows(self.context))
        svc.stop()
        self.assertIsNone(objects_base.NovaVersioningObject.indirection_api)

    def test_stop_of_another_service_keeps_the_indirection_api(self):
        # Two services in one process: a compute without database access
        # and one with it (as the embedded fleet runs them).
        svc = self.compute(db_access=False)
        svc.prepare()
        self.start(svc)
        api = objects_base.NovaVersioningObject.indirection_api
        self.assertIsNotNone(api)
        other = self.compute(host='c2')
        other.prepare()
        other.start()
        other.stop()
        self.assertIs(api, objects_base.NovaVersioningObject.indirection_api)
        # The compute still heartbeats through its conductor.
        del self.conductor_endpoint.calls[:]
        svc._report_state()
        self.assertEqual([('object_action', 'Service', '_save')],
                         self.conductor_endpoint.calls)
        svc.stop()
        self.assertIsNone(objects_base.NovaVersioningObject.indirection_api)

    def test_two_services_without_database_access(self):
        first = self.compute(db_access=False)
        first.prepare()
        self.start(first)
        second = self.compute(host='c2', db_access=False)
        second.prepare()
        self.start(second)
        self.assertEqual(2, objects_base.INDIRECTION.held)
        first.stop()
        self.assertEqual(1, objects_base.INDIRECTION.held)
        self.assertIs(second.manager.client_apis['conductor'],
                      objects_base.NovaVersioningObject.indirection_api.api)
        second.stop()
        second.stop()
        self.assertEqual(0, objects_base.INDIRECTION.held)
        self.assertIsNone(objects_base.NovaVersioningObject.indirection_api)


class TestConductorLookupTimeout(_ServiceTestCase):
    """A minimum version lookup through the conductor is bounded."""

    def api(self):
        api = conductor_rpcapi.ConductorAPI(self.transport, conf=self.conf)
        client = mock.Mock()
        api._bootstrap = client
        return api, client.prepare

    def test_lookups_wait_the_lookup_timeout(self):
        self.flags(group='versioning', minimum_version_lookup_timeout=3)
        api, prepare = self.api()
        for method in ('get_minimum_version', 'get_minimum_versions',
                       'get_minimum_version_multi',
                       'get_all_at_minimum_version'):
            api.object_class_action_versions(self.context, 'Service', method,
                                             {}, ('nova-compute',), {})
        self.assertEqual([mock.call(version='3.0', timeout=3)] * 4,
                         prepare.call_args_list)

    def test_other_calls_wait_the_rpc_timeout(self):
        api, prepare = self.api()
        api.object_class_action_versions(self.context, 'Service',
                                         'get_by_host_and_binary', {},
                                         ('c1', 'nova-compute'), {})
        prepare.assert_called_once_with(version='3.0')

    def test_default_is_well_below_the_rpc_timeout(self):
        api, prepare = self.api()
        api.object_class_action_versions(self.context, 'Service',
                                         'get_minimum_version', {},
                                         ('nova-conductor',), {})
        prepare.assert_called_once_with(version='3.0', timeout=10)


class TestStartupRefusal(base.TestCase):
    """nova-versioning-conductor refuses a bad value: one line, no trace.

    The real console script (or its module, when the script is not next
    to this interpreter), on an SQLite database made by
    nova-versioning-manage db sync.
    """

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.env = dict(os.environ,
                        NOVA_VERSIONING_SERVICE_BACKEND='threading')
        code, err = self.run_cmd('nova-versioning-manage',
                                 'nova_versioning.cmd.manage',
                                 self.write_config({}), 'db', 'sync')
        self.assertEqual(0, code, err)

    def command(self, script, module):
        path = os.path.join(os.path.dirname(sys.executable), script)
        if os.path.exists(path):
            return [path]
        return [sys.executable, '-m', module]

    def run_cmd(self, script, module, config, *args):
        proc = subprocess.run(
            self.command(script, module) + ['--config-file', config] +
            list(args), capture_output=True, text=True, timeout=120,
            cwd=self.tmp, env=self.env, stdin=subprocess.DEVNULL)
        return proc.returncode, proc.stderr

    def write_config(self, sections):
        text = '[DEFAULT]\nstate_path = %s\nhost = ctl1\n' \
               'transport_url = fake:/\n' % self.tmp
        for section, values in sections.items():
            text += '[%s]\n' % section
            text += ''.join('%s = %s\n' % item for item in values.items())
        path = os.path.join(self.tmp, 'conductor.conf')
        with open(path, 'w') as f:
            f.write(text)
        return path

    def assert_refused(self, sections, expected):
        code, err = self.run_cmd('nova-versioning-conductor',
                                 'nova_versioning.cmd.conductor',
                                 self.write_config(sections))
        self.assertNotEqual(0, code, err)
        self.assertNotIn('Traceback', err)
        self.assertEqual(['nova-versioning-conductor: error: ' + expected],
                         err.splitlines())

    def test_unknown_release_name(self):
        # [upgrade_levels]/conductor: an API the conductor does not send to.
        self.assert_refused(
            {'upgrade_levels': {'conductor': 'banana'}},
            "Invalid value 'banana' for option [upgrade_levels]/conductor: "
            "expected 'auto', a version from 3.1 to 3.2 or a release name "
            "(ocata, pike, queens)")

    def test_malformed_version(self):
        code, err = self.run_cmd('nova-versioning-conductor',
                                 'nova_versioning.cmd.conductor',
                                 self.write_config(
                                     {'upgrade_levels': {'compute': '6.x'}}))
        self.assertNotEqual(0, code, err)
        self.assertNotIn('Traceback', err)
        lines = err.splitlines()
        self.assertEqual(1, len(lines), err)
        self.assertIn("Invalid value '6.x' for option "
                      "[upgrade_levels]/compute", lines[0])

    def test_newer_than_this_code(self):
        code, err = self.run_cmd('nova-versioning-conductor',
                                 'nova_versioning.cmd.conductor',
                                 self.write_config(
                                     {'upgrade_levels': {'scheduler': '2.9'}}))
        self.assertNotEqual(0, code, err)
        self.assertNotIn('Traceback', err)
        lines = err.splitlines()
        self.assertEqual(1, len(lines), err)
        self.assertIn("Invalid value '2.9' for option "
                      "[upgrade_levels]/scheduler", lines[0])

    def test_older_than_the_oldest_supported(self):
        code, err = self.run_cmd('nova-versioning-conductor',
                                 'nova_versioning.cmd.conductor',
                                 self.write_config(
                                     {'upgrade_levels': {'conductor': '3.0'}}))
        self.assertNotEqual(0, code, err)
        self.assertNotIn('Traceback', err)
        lines = err.splitlines()
        self.assertEqual(1, len(lines), err)
        self.assertIn("Invalid value '3.0' for option "
                      "[upgrade_levels]/conductor", lines[0])

    def test_bad_refresh_interval(self):
        self.assert_refused(
            {'versioning': {'auto_refresh_interval': 'abc'}},
            "Invalid value 'abc' for option [versioning]/"
            "auto_refresh_interval in %s: expected an integer from 0 to 86400"
            % os.path.join(self.tmp, 'conductor.conf'))
