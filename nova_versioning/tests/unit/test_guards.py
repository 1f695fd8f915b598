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

from nova_versioning import exception
from nova_versioning import fixtures as nv_fixtures
from nova_versioning import guards
from nova_versioning import objects
from nova_versioning.tests import base


class OldestSupportedComputeTestsMixin(object):
    """Guard 2: control services refuse too-old computes."""

    def _compute(self, host, release=None, binary='nova-compute'):
        svc = objects.Service(self.context, host=host, binary=binary,
                              topic=binary[5:])
        if release is None:
            svc.create()
        else:
            with nv_fixtures.OlderRelease(release):
                svc.create()
        return svc

    def _check(self):
        return guards.check_oldest_supported_computes(self.context,
                                                      'nova-conductor')

    def _assert_refused(self, *hosts):
        exc = self.assertRaises(exception.TooOldComputeService, self._check)
        self.assertIn('these nova-compute services are older: %s.'
                      % ', '.join(hosts),
                      str(exc))
        return exc

    def test_no_computes(self):
        # Other binaries as old as they come are not computes.
        self._compute('sched', release='liberty', binary='nova-scheduler')
        self._compute('cond', release='liberty', binary='nova-conductor')
        self.assertEqual([], self._check())
        # The same check refuses once a compute that old is recorded.
        self._compute('ancient', release='liberty')
        self._assert_refused('ancient (version 1 (liberty))')

    def test_supported_computes_pass(self):
        # ocata (versions 4-5) is the oldest supported release: version 4
        # passes, version 3 does not.
        boundary = self._compute('below', release='3')
        boundary.forced_down = True
        boundary.save()
        self._compute('old-but-ok', release='4')
        self._compute('new')
        self.assertEqual([], self._check())
        boundary.forced_down = False
        boundary.save()
        exc = self._assert_refused('below (version 3 (newton))')
        self.assertNotIn('old-but-ok', str(exc))

    def test_too_old_compute_refused_with_hosts_named(self):
        # Oldest first: each joins at or above the minimum of the others.
        self._compute('ancient2', release='mitaka')
        self._compute('ancient1', release='newton')
        self._compute('new')
        exc = self.assertRaises(
            exception.TooOldComputeService,
            guards.check_oldest_supported_computes, self.context,
            'nova-conductor')
        message = str(exc)
        self.assertIn('nova-conductor refuses to start', message)
        self.assertIn('does not support computes older than Ocata but the '
                      'minimum compute service level in your cell is 2 and '
                      'the oldest supported service level is 4.', message)
        self.assertIn('ancient2 (version 2 (mitaka)), '
                      'ancient1 (version 3 (newton))', message)
        self.assertNotIn('new (', message)
        self.assertIn('disable_compute_service_check_for_ffu', message)

    def test_deleted_and_forced_down_do_not_count(self):
        gone = self._compute('gone', release='newton')
        gone.destroy()
        down = self._compute('down', release='newton')
        down.forced_down = True
        down.save()
        self.assertEqual(3, objects.Service.get_by_id(
            self.context, down.id).version)
        self.assertEqual([], self._check())
        # Back in the count, the forced-down one refuses; the deleted one
        # never comes back.
        down.forced_down = False
        down.save()
        exc = self._assert_refused('down (version 3 (newton))')
        self.assertNotIn('gone (', str(exc))

    def test_ffu_workaround_warns_instead(self):
        self._compute('ancient', release='newton')
        self.flags(disable_compute_service_check_for_ffu=True,
                   group='workarounds')
        too_old = guards.check_oldest_supported_computes(
            self.context, 'nova-conductor')
        self.assertEqual(['ancient'], [svc.host for svc in too_old])


class OldestSupportedComputeSQLiteTestCase(OldestSupportedComputeTestsMixin,
                                           base.DBTestCase):
    pass
