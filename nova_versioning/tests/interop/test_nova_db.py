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
"""The tests on Nova's own databases, one class per backend and subject.

The classes of one backend share one Nova deployment per test process
(:func:`.base.shared_deployment`): their names begin with the backend, so
that the nova-interop env's ``--group-regex`` (see tox.ini) runs them on
one worker, which builds that deployment once. Each class makes its own
records.
"""

from nova_versioning.tests.interop import base
from nova_versioning.tests.interop import test_nova_cells
from nova_versioning.tests.interop import test_nova_rules_db


def tearDownModule():
    base.cleanup_shared_deployments()


class MySQLNovaCellsTestCase(test_nova_cells.NovaCellsTestsMixin,
                             base.NovaTestCase):
    DB_KIND = 'mysql'


class MySQLNovaRulesTestCase(test_nova_rules_db.NovaRulesTestsMixin,
                             base.NovaTestCase):
    DB_KIND = 'mysql'


class PostgreSQLNovaCellsTestCase(test_nova_cells.NovaCellsTestsMixin,
                                  base.NovaTestCase):
    DB_KIND = 'postgresql'


class PostgreSQLNovaRulesTestCase(test_nova_rules_db.NovaRulesTestsMixin,
                                  base.NovaTestCase):
    DB_KIND = 'postgresql'
