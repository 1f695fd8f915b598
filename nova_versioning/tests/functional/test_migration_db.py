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
"""The migration bookkeeping and schema recognition on MariaDB/PostgreSQL.

The same tests as on SQLite in ``nova_versioning.tests.unit.db``.
"""

from nova_versioning.tests import base
from nova_versioning.tests.unit.db import test_migration


class MigrationMySQLTestCase(base.MySQLMixin,
                             test_migration.MigrationTestsMixin,
                             base.DBTestCase):
    pass


class MigrationPostgreSQLTestCase(base.PostgreSQLMixin,
                                  test_migration.MigrationTestsMixin,
                                  base.DBTestCase):
    pass


class SchemaCheckMySQLTestCase(base.MySQLMixin,
                               test_migration.SchemaCheckTestsMixin,
                               base.DBTestCase):
    pass


class SchemaCheckPostgreSQLTestCase(base.PostgreSQLMixin,
                                    test_migration.SchemaCheckTestsMixin,
                                    base.DBTestCase):
    pass


class NovaWritesMySQLTestCase(base.MySQLMixin,
                              test_migration.NovaWritesTestsMixin,
                              base.DBTestCase):
    pass


class NovaWritesPostgreSQLTestCase(base.PostgreSQLMixin,
                                   test_migration.NovaWritesTestsMixin,
                                   base.DBTestCase):
    pass
