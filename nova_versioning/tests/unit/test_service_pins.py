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
"""RPCService and pin resolution: receivers newer than this code, fresh reads.

On fake:// with the services schema on SQLite. The conductor runs as pike
(service version 6, compute RPC 6.4 at most) unless said otherwise.
"""

import io
import logging
import sys
from unittest import mock

import fixtures

from nova_versioning.cmd import common
from nova_versioning.db import api as db_api
from nova_versioning import exception
from nova_versioning import fixtures as nv_fixtures
from nova_versioning import objects
from nova_versioning.tests.unit import test_service_reload

MIN_VERSION = ('nova_versioning.objects.service.Service.'
               'get_minimum_version')

TOO_OLD = (
    'This service is older (v6) than the minimum (v7) version of the '
    'rest of the deployment. Unable to continue. '
    'This service is older than the nova-compute services it sends compute '
    'RPC messages to: their minimum service version is 7, newer than 6 '
    '(pike), the newest service version this code knows (history default), '
    'so it cannot tell which compute RPC version they accept. Upgrade this '
    'service to service version 7 or newer: the services sending compute '
    'RPC messages are upgraded before the nova-compute services.')


class TestConductorLeftBehind(test_service_reload._ReloadTestCase):
    """A pike conductor whose computes all run queens: refused."""

    def setUp(self):
        super().setUp()
        self.useFixture(nv_fixtures.OlderRelease('pike', conf=self.conf))

    def upgrade_c2(self):
        record = objects.Service.get_by_host_and_binary(
            self.context, 'c2', 'nova-compute')
        db_api.service_update(self.context, record.id, {'version': 7})

    def new_process(self):
        # A conductor starting is a new process: nothing cached yet (this
        # one may hold the minimum seeded when setUp registered c2).
        objects.Service.clear_min_version_cache()

    def test_prepare_refuses(self):
        self.upgrade_c2()
        self.new_process()
        exc = self.assertRaises(exception.PinResolutionFailed,
                                self.conductor().prepare)
        self.assertEqual(['compute'], exc.unresolved)
        self.assertIsInstance(exc.failures[0][1], exception.ServiceTooOld)
        # Refused before its record was written: an old conductor record
        # would back-level what the computes send to the conductors.
        self.assertIsNone(objects.Service.get_by_host_and_binary(
            self.context, 'cond1', 'nova-conductor'))
        self.assertEqual(
            'Could not resolve the RPC version cap of compute '
            '(ServiceTooOld: %s): no previous cap to keep for compute.'
            % TOO_OLD, str(exc))

    def test_prepare_ends_the_command_with_one_line(self):
        # What the service command does with prepare() (cmd.service.serve),
        # which first checks the configured database URL.
        self.upgrade_c2()
        self.new_process()
        self.flags(connection=self.db.url, group='database')
        stderr = self.useFixture(fixtures.MonkeyPatch('sys.stderr',
                                                      io.StringIO())).new_value
        exc = self.assertRaises(SystemExit, common.run,
                                'nova-versioning-conductor',
                                self.conductor().prepare)
        self.assertEqual(1, exc.code)
        self.assertIs(stderr, sys.stderr)
        self.assertEqual(
            ['nova-versioning-conductor: error: Could not resolve the RPC '
             'version cap of compute (ServiceTooOld: %s): no previous cap to '
             'keep for compute.' % TOO_OLD],
            stderr.getvalue().splitlines())

    def test_reload_keeps_the_last_good_pins(self):
        svc = self.started_conductor()
        self.assertEqual({'compute': ('6.4', '6.4'),
                          'scheduler': ('2.1', '2.1')}, self.caps(svc))
        # Behind the cache: only a fresh read sees it.
        self.upgrade_c2()
        self.records.records[:] = []
        svc.reset()
        self.assertEqual({'compute': ('6.4', '6.4'),
                          'scheduler': ('2.1', '2.1')}, self.caps(svc))
        self.assertEqual(
            [('nova_versioning.service',
              'Pin resolution on SIGHUP failed; keeping the last good pins '
              '(compute=6.4, scheduler=2.1), still serving. Fix the cause '
              'and send SIGHUP to retry. Could not resolve the RPC version '
              'cap of compute (ServiceTooOld: %s): each of them keeps its '
              'previous cap.' % TOO_OLD)],
            self.records.at(logging.ERROR))
        self.assertEqual({'compute': '6.4', 'scheduler': '2.1'},
                         self.stored_caps())

    def test_respawned_worker_keeps_the_pin_file(self):
        # The threading reload: a new worker starts from the pin file.
        self.started_conductor().stop()
        self.upgrade_c2()
        self.records.records[:] = []
        svc = self.conductor()
        svc._reloaded = True
        self.start(svc)
        self.assertEqual({'compute': ('6.4', '6.4'),
                          'scheduler': ('2.1', '2.1')}, self.caps(svc))
        errors = self.records.at(logging.ERROR)
        self.assertEqual(1, len(errors), errors)
        self.assertIn('Pin resolution on start failed; keeping the last good '
                      'pins (compute=6.4, scheduler=2.1)', errors[0][1])
        self.assertIn('(ServiceTooOld: %s)' % TOO_OLD, errors[0][1])


class TestFreshReads(test_service_reload._ReloadTestCase):
    """Which resolutions read the minimum versions past the cache."""

    def fresh_flags(self, call):
        with mock.patch(MIN_VERSION, return_value=6) as get_minimum:
            call()
        return [c.kwargs['fresh'] for c in get_minimum.call_args_list]

    def test_first_start_uses_the_cache(self):
        svc = self.conductor()
        svc.prepare()
        self.assertEqual([False], self.fresh_flags(lambda: self.start(svc)))

    def test_reset_reads_fresh(self):
        svc = self.started_conductor()
        self.assertEqual([True], self.fresh_flags(svc.reset))

    def test_start_after_a_reload_reads_fresh(self):
        svc = self.conductor()
        svc.prepare()
        # The launching process re-reads the files on SIGHUP (mutate),
        # then the threading backend starts a new worker.
        path = self.useFixture(fixtures.TempDir()).join('reloaded.conf')
        with open(path, 'w') as f:
            f.write('[upgrade_levels]\ncompute = auto\n')
        self.conf_fixture.set_config_files([path])
        self.assertFalse(svc._reloaded)
        self.conf.mutate_config_files()
        self.assertTrue(svc._reloaded)
        self.assertEqual([True], self.fresh_flags(lambda: self.start(svc)))

    def test_timer_and_on_use_use_the_cache(self):
        svc = self.started_conductor()
        self.assertEqual([False], self.fresh_flags(svc._refresh_pins))
        self.assertEqual([False],
                         self.fresh_flags(lambda: svc.resolve_pins('test')))

    def test_reset_sees_an_upgrade_behind_the_cache(self):
        svc = self.started_conductor()
        record = objects.Service.get_by_host_and_binary(
            self.context, 'c2', 'nova-compute')
        db_api.service_update(self.context, record.id, {'version': 7})
        # reset() also clears this process's cache; a fresh read alone is
        # what lifts the cap on a host whose minimum comes from elsewhere.
        with mock.patch.object(objects.Service, 'clear_min_version_cache'):
            svc.reset()
        self.assertEqual(('6.5', '6.5'), self.caps(svc)['compute'])
