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
"""The PinnedRPCAPI mixin, PinnedAPIs and validate_pins."""

import logging
from unittest import mock

import fixtures

from nova_versioning.compute import rpcapi as compute_rpcapi
from nova_versioning.conductor import rpcapi as conductor_rpcapi
from nova_versioning.db import api as db_api
from nova_versioning import exception
from nova_versioning import fixtures as nv_fixtures
from nova_versioning import history
from nova_versioning import objects
from nova_versioning.objects import service as service_obj
from nova_versioning.rpc import client
from nova_versioning.rpc import pinning
from nova_versioning.scheduler import rpcapi as scheduler_rpcapi
from nova_versioning.tests import base
from nova_versioning.tests.unit.rpc import fakes

SAMPLE_APIS = (compute_rpcapi.ComputeAPI, conductor_rpcapi.ConductorAPI,
               scheduler_rpcapi.SchedulerAPI)

MIN_VERSION = ('nova_versioning.objects.service.Service.'
               'get_minimum_version')


# What the decision line says of the objects sent to computes of
# service version 5 (ocata).
OBJECTS_5 = ('; objects as of service version 5: Task 1.0, TaskList 1.0, '
             'TaskResources 1.0')


class TestSampleAPIs(base.TestCase):

    def test_rpc_api_version_is_the_latest_of_the_history(self):
        default = history.default_history()
        for cls in SAMPLE_APIS:
            self.assertEqual(default.latest_rpc_version(cls.API_NAME),
                             cls.RPC_API_VERSION, cls.__name__)

    def test_declared_names(self):
        self.assertEqual(
            [('compute', 'nova-compute', 'compute'),
             ('conductor', 'nova-conductor', 'conductor'),
             ('scheduler', 'nova-scheduler', 'scheduler')],
            [(cls.API_NAME, cls.BINARY, cls.TOPIC) for cls in SAMPLE_APIS])

    def test_declared_stance_on_newer_receivers(self):
        # Conductors are upgraded first; computes last, schedulers with
        # the controllers.
        self.assertEqual(
            [('compute', False), ('conductor', True), ('scheduler', False)],
            [(cls.API_NAME, cls.NEWER_RECEIVERS_EXPECTED)
             for cls in SAMPLE_APIS])
        self.assertIs(False, client.PinnedRPCAPI.NEWER_RECEIVERS_EXPECTED)

    def test_every_api_has_an_option(self):
        for cls in SAMPLE_APIS:
            self.assertIsNone(self.conf.upgrade_levels[cls.API_NAME])

    def test_undeclared_api_is_refused(self):
        class Incomplete(client.PinnedRPCAPI):
            API_NAME = 'compute'
            BINARY = 'nova-compute'
            TOPIC = 'compute'

        exc = self.assertRaises(TypeError, Incomplete, mock.sentinel.t)
        self.assertIn('RPC_API_VERSION', str(exc))


class _ClientTestCase(base.DBTestCase):

    def setUp(self):
        super().setUp()
        self.transport = self.useFixture(
            fakes.FakeTransport(self.conf)).transport
        self.log = self.useFixture(fixtures.FakeLogger(
            name='nova_versioning.rpc.client', level=logging.INFO))

    def pin(self, api, value):
        self.flags(group='upgrade_levels', **{api: value})

    def register(self, host, release=None, binary='nova-compute'):
        service = objects.Service(context=self.context, host=host,
                                  binary=binary, topic=binary[5:])
        if release is None:
            service.create()
        else:
            with nv_fixtures.OlderRelease(release):
                service.create()
        return service

    def log_lines(self):
        return [line for line in self.log.output.splitlines() if line]


class TestResolve(_ClientTestCase):

    def test_client_before_resolve(self):
        api = compute_rpcapi.ComputeAPI(self.transport)
        self.assertIsNone(api.decision)
        exc = self.assertRaises(exception.RPCClientNotResolved,
                                getattr, api, 'client')
        self.assertIn('The compute RPC client has no version cap yet',
                      str(exc))

    def test_unset_is_latest_without_reading_the_database(self):
        api = compute_rpcapi.ComputeAPI(self.transport)
        with mock.patch(MIN_VERSION) as get_minimum:
            decision = api.resolve(self.context)
        get_minimum.assert_not_called()
        self.assertEqual(('latest', '6.5'), (decision.source, decision.cap))
        self.assertEqual('6.5', api.client.version_cap)
        self.assertEqual(['compute RPC version cap 6.5 (not pinned: the '
                          'latest version)'], self.log_lines())

    def test_explicit_pin(self):
        self.pin('compute', '6.3')
        api = compute_rpcapi.ComputeAPI(self.transport)
        decision = api.resolve(self.context)
        self.assertEqual(('explicit', '6.3', False),
                         (decision.source, decision.cap, decision.latest))
        self.assertEqual('6.3', api.client.version_cap)
        self.assertTrue(api.can_send_version('6.3'))
        self.assertFalse(api.can_send_version('6.4'))
        self.assertEqual(['compute RPC version cap 6.3 (explicit pin)'
                          + OBJECTS_5], self.log_lines())

    def test_alias_pin(self):
        self.pin('scheduler', 'Pike')
        api = scheduler_rpcapi.SchedulerAPI(self.transport)
        self.assertEqual('2.1', api.resolve(self.context).cap)
        self.assertEqual('2.1', api.client.version_cap)

    def test_auto_back_levelled_names_the_hosts(self):
        self.register('c2', 'ocata')
        self.register('c1', 'ocata')
        self.register('c3', 'pike')
        self.register('c4')
        self.register('cond1', 'newton', binary='nova-conductor')
        self.pin('compute', 'auto')
        api = compute_rpcapi.ComputeAPI(self.transport)
        decision = api.resolve(self.context)
        self.assertEqual(
            pinning.PinDecision(api='compute', configured='auto', cap='6.3',
                                source='auto', minimum_version=5,
                                hosts=('c1', 'c2'), latest=False,
                                cacheable=True, binary='nova-compute'),
            decision)
        self.assertIs(decision, api.decision)
        self.assertEqual('6.3', api.client.version_cap)
        self.assertEqual(
            ['Automatically selected compute RPC version 6.3 from minimum '
             'service version 5; held by: c1, c2' + OBJECTS_5],
            self.log_lines())

    def test_auto_latest(self):
        self.register('c1')
        self.pin('compute', 'auto')
        api = compute_rpcapi.ComputeAPI(self.transport)
        with mock.patch.object(objects.Service,
                               'get_all_at_minimum_version') as get_all:
            decision = api.resolve(self.context)
        get_all.assert_not_called()
        self.assertEqual(('6.5', True, ()),
                         (decision.cap, decision.latest, decision.hosts))
        self.assertEqual(
            ['Automatically selected compute RPC version 6.5 from minimum '
             'service version 7 (the latest version)'], self.log_lines())

    def test_reload_derives_the_object_manifest_again(self):
        service = self.register('c1', 'ocata')
        self.pin('compute', 'auto')
        api = compute_rpcapi.ComputeAPI(self.transport)
        api.resolve(self.context)
        self.assertEqual(history.default_history().object_manifest(5),
                         api.client.serializer._base.send_manifest)
        # c1 is upgraded: a fresh resolve (a reload) lifts both caps.
        service.save()
        api.resolve(self.context, fresh=True)
        self.assertEqual('6.5', api.client.version_cap)
        self.assertIsNone(api.client.serializer._base.send_manifest)
        self.assertEqual(
            ['Automatically selected compute RPC version 6.3 from minimum '
             'service version 5; held by: c1' + OBJECTS_5,
             'Automatically selected compute RPC version 6.5 from minimum '
             'service version 7 (the latest version)'], self.log_lines())

    def test_release_pin_caps_objects_to_that_release(self):
        self.pin('compute', 'pike')
        api = compute_rpcapi.ComputeAPI(self.transport)
        api.resolve(self.context)
        self.assertEqual(history.default_history().object_manifest(6),
                         api.client.serializer._base.send_manifest)
        self.assertEqual(
            ['compute RPC version cap 6.4 (pinned to release pike); '
             'objects as of service version 6: Task 1.1, TaskList 1.1, '
             'TaskResources 1.0'], self.log_lines())

    def test_auto_without_receivers_decides_again_and_logs_once(self):
        self.pin('compute', 'auto')
        api = compute_rpcapi.ComputeAPI(self.transport)
        decision = api.resolve(self.context)
        self.assertEqual(('6.5', 0, False),
                         (decision.cap, decision.minimum_version,
                          decision.cacheable))
        # Still no compute: decided again at each use, logged once.
        self.assertEqual('6.5', api.client.version_cap)
        self.assertEqual('6.5', api.client.version_cap)
        expected = ['Automatically selected compute RPC version 6.5 (the '
                    'latest version): no nova-compute service is recorded '
                    'yet']
        self.assertEqual(expected, self.log_lines())
        # A compute of an older release registers: the next use caps.
        self.register('c1', 'ocata')
        self.assertEqual('6.3', api.client.version_cap)
        self.assertEqual(5, api.decision.minimum_version)
        self.assertTrue(api.decision.cacheable)
        expected.append('Automatically selected compute RPC version 6.3 '
                        'from minimum service version 5; held by: c1'
                        + OBJECTS_5)
        self.assertEqual(expected, self.log_lines())
        # Now cached: a later use does not look again.
        with mock.patch(MIN_VERSION) as get_minimum:
            self.assertEqual('6.3', api.client.version_cap)
        get_minimum.assert_not_called()

    def test_lazy_refresh_failure_keeps_the_client(self):
        self.pin('compute', 'auto')
        api = compute_rpcapi.ComputeAPI(self.transport)
        api.resolve(self.context)
        before = api.client
        with mock.patch(MIN_VERSION, side_effect=RuntimeError('db down')):
            self.assertIs(before, api.client)
        self.assertIn('Keeping compute RPC version cap 6.5: could not decide '
                      'it again: db down', self.log.output)

    def _older_code(self):
        # This code stops at pike (service version 6); the records are
        # queens (7).
        return history.VersionHistory(
            'older', history.SERVICE_VERSION_HISTORY[:7],
            {'liberty': 1, 'mitaka': 2, 'newton': 3, 'ocata': 5, 'pike': 6},
            'ocata')

    def test_receivers_newer_than_this_code_refused_for_compute(self):
        # A controller left behind: every compute runs newer code.
        self.register('c1')
        self.pin('compute', 'auto')
        api = compute_rpcapi.ComputeAPI(self.transport,
                                        history=self._older_code())
        exc = self.assertRaises(exception.ServiceTooOld, api.resolve,
                                self.context)
        self.assertEqual((6, 7), (exc.thisver, exc.minver))
        self.assertEqual(
            'This service is older (v6) than the minimum (v7) version of the '
            'rest of the deployment. Unable to continue. '
            'This service is older than the nova-compute services it sends '
            'compute RPC messages to: their minimum service version is 7, '
            'newer than 6 (pike), the newest service version this code '
            'knows (history older), so it cannot tell which compute RPC '
            'version they accept. Upgrade this service to service version 7 '
            'or newer: the services sending compute RPC messages are '
            'upgraded before the nova-compute services.', str(exc))
        self.assertIsNone(api.decision)
        self.assertRaises(exception.RPCClientNotResolved, getattr, api,
                          'client')

    def test_receivers_newer_than_this_code_refused_for_scheduler(self):
        self.register('s1', binary='nova-scheduler')
        self.pin('scheduler', 'auto')
        api = scheduler_rpcapi.SchedulerAPI(self.transport,
                                            history=self._older_code())
        exc = self.assertRaises(exception.ServiceTooOld, api.resolve,
                                self.context)
        self.assertIn('older than the nova-scheduler services it sends '
                      'scheduler RPC messages to', str(exc))

    def test_refusal_keeps_the_previous_pin(self):
        self.register('c1', 'pike')
        self.pin('compute', 'auto')
        api = compute_rpcapi.ComputeAPI(self.transport,
                                        history=self._older_code())
        decision = api.resolve(self.context)
        self.assertEqual('6.4', decision.cap)
        # c1 is upgraded past this code.
        objects.Service.get_by_host_and_binary(
            self.context, 'c1', 'nova-compute').save()
        self.assertRaises(exception.ServiceTooOld, api.resolve,
                          self.context)
        self.assertIs(decision, api.decision)
        self.assertEqual('6.4', api.client.version_cap)

    def test_receivers_newer_than_this_code_expected_for_conductor(self):
        # Computes not yet upgraded next to upgraded conductors: the
        # conductors read the newest version this older code can send.
        self.register('ctl1', binary='nova-conductor')
        self.pin('conductor', 'auto')
        api = conductor_rpcapi.ConductorAPI(self.transport,
                                            history=self._older_code())
        decision = api.resolve(self.context)
        self.assertEqual(('3.2', 7, True, ()),
                         (decision.cap, decision.minimum_version,
                          decision.latest, decision.hosts))
        self.assertEqual('3.2', api.client.version_cap)
        self.assertIn('Automatically selected conductor RPC version 3.2 '
                      'from minimum service version 7 (the latest version)',
                      self.log.output)

    def test_stance_is_the_class_attribute(self):
        # The same API, declared the other way round.
        class Tolerant(compute_rpcapi.ComputeAPI):
            NEWER_RECEIVERS_EXPECTED = True

        class Strict(conductor_rpcapi.ConductorAPI):
            NEWER_RECEIVERS_EXPECTED = False

        self.register('c1')
        self.register('ctl1', binary='nova-conductor')
        self.pin('compute', 'auto')
        self.pin('conductor', 'auto')
        older = self._older_code()
        self.assertEqual('6.4', Tolerant(self.transport, history=older)
                         .resolve(self.context).cap)
        self.assertRaises(exception.ServiceTooOld,
                          Strict(self.transport, history=older).resolve,
                          self.context)

    def test_pinned_values_ignore_newer_receivers(self):
        self.register('c1')
        self.pin('compute', 'pike')
        api = compute_rpcapi.ComputeAPI(self.transport,
                                        history=self._older_code())
        self.assertEqual('6.4', api.resolve(self.context).cap)

    def test_failed_resolve_keeps_the_previous_pin(self):
        self.register('c1', 'pike')
        self.pin('compute', 'auto')
        api = compute_rpcapi.ComputeAPI(self.transport)
        decision = api.resolve(self.context)
        rpc_client = api.client
        self.assertEqual('6.4', rpc_client.version_cap)
        with mock.patch(MIN_VERSION, side_effect=RuntimeError('db down')):
            self.assertRaises(RuntimeError, api.resolve, self.context)
        self.assertIs(decision, api.decision)
        self.assertIs(rpc_client, api.client)
        # An invalid value read on a reload fails the same way.
        self.pin('compute', 'banana')
        self.assertRaises(exception.InvalidPin, api.resolve, self.context)
        self.assertIs(decision, api.decision)
        self.assertIs(rpc_client, api.client)

    def test_client_built_after_everything_succeeded(self):
        self.register('c1', 'pike')
        self.pin('compute', 'auto')
        api = compute_rpcapi.ComputeAPI(self.transport)
        decision = api.resolve(self.context)
        self.pin('compute', '6.2')
        with mock.patch('nova_versioning.rpc.get_client',
                        side_effect=RuntimeError('no client')):
            self.assertRaises(RuntimeError, api.resolve, self.context)
        self.assertIs(decision, api.decision)
        self.assertEqual('6.4', api.client.version_cap)

    def test_reload_picks_up_mutated_option(self):
        api = compute_rpcapi.ComputeAPI(self.transport)
        self.assertEqual('6.5', api.resolve(self.context).cap)
        self.pin('compute', 'ocata')
        self.assertEqual('6.3', api.resolve(self.context).cap)
        self.assertEqual('6.3', api.client.version_cap)

    def test_prepare_delegates(self):
        self.pin('compute', '6.2')
        api = compute_rpcapi.ComputeAPI(self.transport)
        api.resolve(self.context)
        cctxt = api.prepare(server='c1', version='6.2')
        self.assertEqual('c1', cctxt.target.server)
        self.assertEqual('6.2', cctxt.version_cap)


class TestFreshReads(_ClientTestCase):

    def setUp(self):
        super().setUp()
        self.register('c1', 'pike')
        self.pin('compute', 'auto')
        self.api = compute_rpcapi.ComputeAPI(self.transport)
        # Reads the minimum (6) into the cache.
        self.assertEqual('6.4', self.api.resolve(self.context).cap)

    def upgrade_behind_the_cache(self):
        # Another process upgrades c1: this process's cache is not told.
        record = objects.Service.get_by_host_and_binary(
            self.context, 'c1', 'nova-compute')
        db_api.service_update(self.context, record.id, {'version': 7})

    def test_fresh_resolve_reads_past_the_cache(self):
        self.upgrade_behind_the_cache()
        self.assertEqual('6.4', self.api.resolve(self.context).cap)
        self.assertEqual('6.5',
                         self.api.resolve(self.context, fresh=True).cap)
        # The fresh answer replaced the cached one.
        self.assertEqual(7, service_obj.MIN_VERSION_CACHE.peek(
            'nova-compute'))
        self.assertEqual('6.5', self.api.resolve(self.context).cap)

    def test_fresh_is_passed_to_the_minimum_read(self):
        with mock.patch(MIN_VERSION, return_value=7) as get_minimum:
            self.api.resolve(self.context, fresh=True)
            self.api.resolve(self.context)
        self.assertEqual(
            [mock.call(self.context, 'nova-compute', fresh=True),
             mock.call(self.context, 'nova-compute', fresh=False)],
            get_minimum.call_args_list)

    def test_decided_again_on_use_with_the_cache(self):
        scheduler = scheduler_rpcapi.SchedulerAPI(self.transport)
        self.pin('scheduler', 'auto')
        scheduler.resolve(self.context, fresh=True)
        # No scheduler yet: decided again at the next use, cached read.
        with mock.patch(MIN_VERSION, return_value=0) as get_minimum:
            scheduler.client
        get_minimum.assert_called_once_with(mock.ANY, 'nova-scheduler',
                                            fresh=False)

    def test_resolve_all_passes_fresh(self):
        self.upgrade_behind_the_cache()
        apis = client.PinnedAPIs([self.api])
        self.assertEqual([('compute', '6.4', '6.4')],
                         [(name, old.cap, new.cap) for name, old, new
                          in apis.resolve_all(self.context)])
        self.assertEqual([('compute', '6.4', '6.5')],
                         [(name, old.cap, new.cap) for name, old, new
                          in apis.resolve_all(self.context, fresh=True)])


class TestPinnedAPIs(_ClientTestCase):

    def test_holder(self):
        apis = client.PinnedAPIs()
        compute = compute_rpcapi.ComputeAPI(self.transport)
        self.assertIs(compute, apis.add(compute))
        apis.add(compute)
        scheduler = apis.add(scheduler_rpcapi.SchedulerAPI(self.transport))
        self.assertEqual([compute, scheduler], list(apis))
        self.assertEqual(2, len(apis))
        self.assertEqual([('compute', None), ('scheduler', None)],
                         apis.decisions())

    def test_resolve_all_reports_changes(self):
        self.register('c1', 'ocata')
        self.pin('compute', 'auto')
        apis = client.PinnedAPIs([
            compute_rpcapi.ComputeAPI(self.transport),
            scheduler_rpcapi.SchedulerAPI(self.transport)])
        first = apis.resolve_all(self.context)
        self.assertEqual([('compute', None, '6.3'),
                          ('scheduler', None, '2.2')],
                         [(name, old, new.cap) for name, old, new in first])
        # c1 is upgraded: re-registering records this code's version.
        objects.Service.get_by_host_and_binary(
            self.context, 'c1', 'nova-compute').save()
        second = apis.resolve_all(self.context)
        self.assertEqual([('compute', '6.3', '6.5'),
                          ('scheduler', '2.2', '2.2')],
                         [(name, old.cap, new.cap)
                          for name, old, new in second])
        self.assertIn('compute RPC version cap changed from 6.3 to 6.5',
                      self.log_lines())
        self.assertIn('scheduler RPC version cap unchanged at 2.2',
                      self.log_lines())

    def test_refusal_is_a_failure_like_the_others(self):
        # A first resolution refused: nothing to keep, and said so.
        self.register('c1')
        self.pin('compute', 'auto')
        older = history.VersionHistory(
            'older', history.SERVICE_VERSION_HISTORY[:7],
            {'liberty': 1, 'mitaka': 2, 'newton': 3, 'ocata': 5, 'pike': 6},
            'ocata')
        compute = compute_rpcapi.ComputeAPI(self.transport, history=older)
        scheduler = scheduler_rpcapi.SchedulerAPI(self.transport,
                                                  history=older)
        apis = client.PinnedAPIs([compute, scheduler])
        exc = self.assertRaises(exception.PinResolutionFailed,
                                apis.resolve_all, self.context)
        self.assertEqual(['compute'], [name for name, _ in exc.failures])
        self.assertIsInstance(exc.failures[0][1], exception.ServiceTooOld)
        self.assertEqual(['compute'], exc.unresolved)
        self.assertEqual('2.1', scheduler.decision.cap)
        self.assertIsNone(compute.decision)
        self.assertTrue(str(exc).startswith(
            'Could not resolve the RPC version cap of compute (ServiceTooOld: '
            'This service is older (v6) than the minimum (v7) version of the '
            'rest of the deployment. Unable to continue. This service is '
            'older than the nova-compute services it sends compute RPC '
            'messages to'), str(exc))
        self.assertTrue(str(exc).endswith(
            'upgraded before the nova-compute services.): no previous cap '
            'to keep for compute.'), str(exc))
        self.assertNotIn('\n', str(exc))

    def test_one_failure_does_not_stop_the_others(self):
        self.register('c1', 'ocata')
        self.register('s1', 'ocata', binary='nova-scheduler')
        self.pin('compute', 'auto')
        self.pin('scheduler', 'auto')
        compute = compute_rpcapi.ComputeAPI(self.transport)
        scheduler = scheduler_rpcapi.SchedulerAPI(self.transport)
        apis = client.PinnedAPIs([compute, scheduler])
        apis.resolve_all(self.context)
        compute_before = compute.decision
        self.assertEqual(('6.3', '2.1'),
                         (compute_before.cap, scheduler.decision.cap))
        # The compute pin becomes invalid; the scheduler is upgraded.
        self.pin('compute', 'banana')
        objects.Service.get_by_host_and_binary(
            self.context, 's1', 'nova-scheduler').save()
        exc = self.assertRaises(exception.PinResolutionFailed,
                                apis.resolve_all, self.context)
        self.assertIs(compute_before, compute.decision)
        self.assertEqual('2.2', scheduler.decision.cap)
        self.assertEqual(['compute'], [name for name, _ in exc.failures])
        self.assertIsInstance(exc.failures[0][1], exception.InvalidPin)
        self.assertEqual([('scheduler', '2.1', '2.2')],
                         [(name, old.cap, new.cap)
                          for name, old, new in exc.changes])
        self.assertIn("Could not resolve the RPC version cap of compute "
                      "(InvalidPin: Invalid value 'banana' for option "
                      "[upgrade_levels]/compute", str(exc))
        # Reported once, by whoever catches the exception.
        self.assertNotIn('Could not resolve', self.log.output)
        self.assertEqual('6.3', compute.decision.cap)


class TestValidatePins(base.TestCase):

    def setUp(self):
        super().setUp()
        self.history = history.default_history()

    def pin(self, **kw):
        self.flags(group='upgrade_levels', **kw)

    def test_defaults_are_valid(self):
        client.validate_pins(self.conf, self.history)

    def test_every_form(self):
        self.pin(compute='auto', conductor='3.1', scheduler='queens')
        client.validate_pins(self.conf, self.history)

    def test_first_invalid_is_raised(self):
        self.pin(compute='6.5', conductor='9.9', scheduler='banana')
        exc = self.assertRaises(exception.InvalidPin, client.validate_pins,
                                self.conf, self.history)
        self.assertEqual('conductor', exc.api)
        self.assertIn("Invalid value '9.9' for option "
                      "[upgrade_levels]/conductor", str(exc))

    def test_only_the_apis_given(self):
        self.pin(scheduler='banana')
        client.validate_pins(self.conf, self.history, ['compute'])
        client.validate_pins(self.conf, self.history,
                             [compute_rpcapi.ComputeAPI])
        self.assertRaises(exception.InvalidPin, client.validate_pins,
                          self.conf, self.history,
                          [scheduler_rpcapi.SchedulerAPI])

    def test_classmethod(self):
        self.pin(compute='newton')
        exc = self.assertRaises(exception.InvalidPin,
                                compute_rpcapi.ComputeAPI.validate)
        self.assertIn('release newton is older than the oldest supported '
                      'release ocata', str(exc))
        scheduler_rpcapi.SchedulerAPI.validate()
