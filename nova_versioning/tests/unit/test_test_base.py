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
"""The functional suite fails, never skips, when a server is required.

oslo.db's opportunistic provisioning reports an unreachable server as
BackendNotAvailable, which would make a broken CI machine look green. The
functional tox env sets NOVA_VERSIONING_REQUIRE_SERVERS=1.
"""

from unittest import mock

import fixtures
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import provision
import testtools

from nova_versioning.tests import base


class _Probe(testtools.TestCase):
    BACKEND = 'mysql'

    def provision(self):
        base.database_backend(self, self.BACKEND)


class TestDatabaseBackend(testtools.TestCase):

    def run_probe(self, required):
        self.useFixture(fixtures.EnvironmentVariable(
            'NOVA_VERSIONING_REQUIRE_SERVERS', required))
        result = testtools.TestResult()
        with mock.patch.object(
                provision.Backend, 'backend_for_database_type',
                side_effect=db_exc.BackendNotAvailable(
                    'Backend mysql is not available')):
            _Probe('provision').run(result)
        return result

    def test_required_server_unreachable_fails(self):
        result = self.run_probe('1')
        self.assertEqual(1, len(result.failures))
        self.assertEqual({}, result.skip_reasons)
        self.assertIn('mysql is not available for functional tests',
                      result.failures[0][1])

    def test_optional_server_unreachable_skips(self):
        for value in (None, '0', 'false'):
            result = self.run_probe(value)
            self.assertEqual([], result.failures)
            self.assertEqual(['mysql is not available for functional '
                              'tests: Backend mysql is not available'],
                             list(result.skip_reasons))
