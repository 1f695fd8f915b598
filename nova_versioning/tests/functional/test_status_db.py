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
"""Operator tooling and the stale service policy on MariaDB and PostgreSQL.

The same tests as on SQLite in the unit suite (the mixed fleet of
``nova_versioning.tests.unit.cmd.test_status``), in a database of their
own provisioned through oslo.db as openstack_citest; the CLI tests run the
console scripts against it. The CLI error tests of
``nova_versioning.tests.unit.cmd.test_cli_errors`` derive their
unreachable server and wrong credentials from that database's URL.
"""

from nova_versioning.tests import base
from nova_versioning.tests.unit.cmd import test_cli_errors
from nova_versioning.tests.unit.cmd import test_operator_cli
from nova_versioning.tests.unit.cmd import test_status
from nova_versioning.tests.unit.objects import test_stale_policy


class StatusMySQLTestCase(base.MySQLMixin,
                          test_status.StatusDBTestsMixin,
                          base.DBTestCase):
    pass


class StatusPostgreSQLTestCase(base.PostgreSQLMixin,
                               test_status.StatusDBTestsMixin,
                               base.DBTestCase):
    pass


class StatusCLIMySQLTestCase(base.MySQLMixin,
                             test_status.StatusCLITestsMixin,
                             base.DBTestCase):
    pass


class StatusCLIPostgreSQLTestCase(base.PostgreSQLMixin,
                                  test_status.StatusCLITestsMixin,
                                  base.DBTestCase):
    pass


class CLIErrorMySQLTestCase(base.MySQLMixin,
                            test_cli_errors.CLIErrorTestsMixin,
                            base.DBTestCase):
    pass


class CLIErrorPostgreSQLTestCase(base.PostgreSQLMixin,
                                 test_cli_errors.CLIErrorTestsMixin,
                                 base.DBTestCase):
    pass


class StalePolicyMySQLTestCase(base.MySQLMixin,
                               test_stale_policy.StalePolicyDBTestsMixin,
                               base.DBTestCase):
    pass


class StalePolicyPostgreSQLTestCase(base.PostgreSQLMixin,
                                    test_stale_policy.StalePolicyDBTestsMixin,
                                    base.DBTestCase):
    pass


class OperatorCLIMySQLTestCase(base.MySQLMixin,
                               test_operator_cli.OperatorCLIDBTestsMixin,
                               base.DBTestCase):
    pass


class OperatorCLIPostgreSQLTestCase(base.PostgreSQLMixin,
                                    test_operator_cli.OperatorCLIDBTestsMixin,
                                    base.DBTestCase):
    pass
