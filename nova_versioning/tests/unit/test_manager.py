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
"""The endpoints accept the RPC version of the release they run as."""

from nova_versioning.compute import manager as compute_manager
from nova_versioning.conductor import manager as conductor_manager
from nova_versioning import exception
from nova_versioning import fixtures as nv_fixtures
from nova_versioning import manager
from nova_versioning.scheduler import manager as scheduler_manager
from nova_versioning.tests import base

MANAGERS = (compute_manager.ComputeManager,
            conductor_manager.ConductorManager,
            scheduler_manager.SchedulerManager)

# Release -> (service version, compute, conductor, scheduler RPC version).
EXPECTED = {
    'liberty': (1, '6.0', '3.0', '2.0'),
    'mitaka': (2, '6.1', '3.0', '2.0'),
    'newton': (3, '6.2', '3.1', '2.0'),
    'ocata': (5, '6.3', '3.1', '2.1'),
    'pike': (6, '6.4', '3.2', '2.1'),
    'queens': (7, '6.5', '3.2', '2.2'),
}


class TestTargetVersion(base.TestCase):

    def targets(self, **kwargs):
        endpoints = [cls(host='h1', conf=self.conf, **kwargs)
                     for cls in MANAGERS]
        return ((endpoints[0].service_version,)
                + tuple(endpoint.target.version for endpoint in endpoints))

    def test_api_names(self):
        self.assertEqual(['compute', 'conductor', 'scheduler'],
                         [cls.API_NAME for cls in MANAGERS])

    def test_this_release_by_default(self):
        self.assertEqual((7, '6.5', '3.2', '2.2'), self.targets())

    def test_compute_as_pike(self):
        with nv_fixtures.OlderRelease('pike', conf=self.conf):
            endpoint = compute_manager.ComputeManager(conf=self.conf)
        self.assertEqual(('6.4', 6), (endpoint.target.version,
                                      endpoint.service_version))

    def test_each_release(self):
        for release, expected in EXPECTED.items():
            with nv_fixtures.OlderRelease(release, conf=self.conf):
                self.assertEqual(expected, self.targets(), release)

    def test_emulated_service_version_number(self):
        # Version 4 is the first ocata version: scheduler 2.1 only.
        with nv_fixtures.OlderRelease('4', conf=self.conf):
            self.assertEqual((4, '6.2', '3.1', '2.1'), self.targets())

    def test_release_set_in_the_configuration(self):
        self.flags(group='versioning', emulated_release='newton')
        self.assertEqual((3, '6.2', '3.1', '2.0'), self.targets())

    def test_explicit_service_version_wins(self):
        with nv_fixtures.OlderRelease('pike', conf=self.conf):
            self.assertEqual((2, '6.1', '3.0', '2.0'),
                             self.targets(service_version=2))

    def test_host(self):
        self.assertEqual(['h1', 'h1', 'h1'],
                         [cls(host='h1', conf=self.conf).host
                          for cls in MANAGERS])

    def test_service_version_outside_the_history(self):
        exc = self.assertRaises(exception.InvalidHistory,
                                compute_manager.ComputeManager,
                                conf=self.conf, service_version=8)
        self.assertEqual('Invalid service version history default: service '
                         'version 8 is outside 0..7', str(exc))

    def test_api_missing_from_the_history(self):
        class Unknown(manager.Manager):
            API_NAME = 'placement'

        exc = self.assertRaises(exception.InvalidHistory, Unknown,
                                conf=self.conf)
        self.assertEqual('Invalid service version history default: service '
                         'version 7 does not name the placement RPC version '
                         '(placement_rpc)', str(exc))

    def test_unknown_emulated_release(self):
        self.flags(group='versioning', emulated_release='zed')
        exc = self.assertRaises(exception.InvalidRelease,
                                compute_manager.ComputeManager,
                                conf=self.conf)
        self.assertEqual(
            "Invalid value 'zed' for option [versioning]/emulated_release: "
            "expected a release name (liberty, mitaka, newton, ocata, pike, "
            "queens) or a service version from 1 to 7.", str(exc))
