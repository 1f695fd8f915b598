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
"""Rows no service writes, on MariaDB and PostgreSQL.

The tests of ``nova_versioning.tests.unit.objects.test_odd_rows``; on
MariaDB also a zero date and the binaries its collation would match.
"""

import sqlalchemy as sa

from nova_versioning.compute import rpcapi as compute_rpcapi
from nova_versioning import objects
from nova_versioning.tests import base
from nova_versioning.tests.unit.objects import test_odd_rows

C = test_odd_rows.C


class OddRowsMySQLTestCase(base.MySQLMixin,
                           test_odd_rows.OddRowsTestsMixin,
                           base.DBTestCase):

    def insert_zero_date(self, host, version):
        self.insert(host, C, version)
        with self.db.engine.begin() as conn:
            conn.execute(sa.text("SET SESSION sql_mode = ''"))
            conn.execute(sa.text(
                "UPDATE services SET last_seen_up = '0000-00-00 00:00:00', "
                "updated_at = NULL WHERE host = :host"), {'host': host})

    def test_collation_would_match_odd_binaries(self):
        # The premise of test_odd_binaries_count_nowhere_and_are_reported:
        # a plain comparison matches them on MariaDB.
        self.insert('odd-1', 'NOVA-COMPUTE', 5)
        self.insert('odd-2', 'nova-compute ', 5)
        self.insert('odd-3', 'nova-c\u00f6mpute', 5)
        with self.db.engine.connect() as conn:
            count = conn.execute(sa.text(
                "SELECT COUNT(*) FROM services WHERE `binary` = "
                "'nova-compute'")).scalar()
        self.assertEqual(3, count)
        self.assertEqual(0, objects.Service.get_minimum_version(
            self.context, C, fresh=True))

    def test_zero_date_reads_as_oldest(self):
        self.insert('cpu-a', C, 7)
        self.insert_zero_date('cpu-zero', 5)
        # Policy off: it counts, and holds the pin down.
        self.assert_agree(compute_rpcapi.ComputeAPI, '6.3',
                          hosts=['cpu-zero'])
        svc = objects.Service.get_by_host_and_binary(self.context,
                                                     'cpu-zero', C)
        self.assertEqual(1, svc.last_seen_up.year)
        check = self.checks()[test_odd_rows.ODD_CHECK]
        self.assertIn('cpu-zero: its last heartbeat is a zero date',
                      check.details)
        entry = self.report_cap(self.report(), 'compute')
        self.assertEqual('0000-00-00T00:00:00Z',
                         entry['at_minimum'][0]['last_heartbeat'])
        # Policy on: a zero date is older than any cutoff, in SQL and in
        # Python alike.
        self.flags(stale_service_timeout=3600, group='versioning')
        self.assert_agree(compute_rpcapi.ComputeAPI, '6.5')


class OddRowsPostgreSQLTestCase(base.PostgreSQLMixin,
                                test_odd_rows.OddRowsTestsMixin,
                                base.DBTestCase):
    pass
