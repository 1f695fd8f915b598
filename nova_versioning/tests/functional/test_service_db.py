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
"""The Service object and the schema on real MariaDB and PostgreSQL.

The same tests as on SQLite in the unit suite (the Service object, the
schema and the oldest-supported-compute guard). Each test runs in a
database of its own, provisioned through oslo.db as openstack_citest.
"""

from nova_versioning.tests import base
from nova_versioning.tests.unit.objects import test_service
from nova_versioning.tests.unit import test_guards


class ServiceMySQLTestCase(base.MySQLMixin,
                           test_service.ServiceDBTestsMixin,
                           base.DBTestCase):
    pass


class ServicePostgreSQLTestCase(base.PostgreSQLMixin,
                                test_service.ServiceDBTestsMixin,
                                base.DBTestCase):
    pass


class SchemaMySQLTestCase(base.MySQLMixin,
                          test_service.SchemaTestsMixin,
                          base.DBTestCase):
    pass


class SchemaPostgreSQLTestCase(base.PostgreSQLMixin,
                               test_service.SchemaTestsMixin,
                               base.DBTestCase):
    pass


class OldestSupportedComputeMySQLTestCase(
        base.MySQLMixin, test_guards.OldestSupportedComputeTestsMixin,
        base.DBTestCase):
    pass


class OldestSupportedComputePostgreSQLTestCase(
        base.PostgreSQLMixin, test_guards.OldestSupportedComputeTestsMixin,
        base.DBTestCase):
    pass
