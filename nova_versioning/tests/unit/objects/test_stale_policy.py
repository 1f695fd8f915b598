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
"""The stale service policy ([versioning]/stale_service_timeout).

``StalePolicyDBTestsMixin`` runs here on SQLite and in
``nova_versioning.tests.functional.test_status_db`` on MariaDB and
PostgreSQL. Heartbeats are set directly in the table.
"""

import datetime

import fixtures
from oslo_utils import timeutils
import sqlalchemy as sa

from nova_versioning.db import api as db_api
from nova_versioning.db import models
from nova_versioning import exception
from nova_versioning import fixtures as nv_fixtures
from nova_versioning import guards
from nova_versioning import objects
from nova_versioning import pinreport
from nova_versioning.tests import base
from nova_versioning.tests import utils

C = 'nova-compute'
D = 'nova-conductor'
TIMEOUT = 600


def now_seconds():
    return timeutils.utcnow().replace(microsecond=0)


def set_times(engine, host, binary, **values):
    """Write timestamp columns of the live (host, binary) row."""
    table = models.Service.__table__
    with engine.begin() as conn:
        count = conn.execute(table.update().where(
            table.c.host == host, table.c.binary == binary,
            table.c.deleted == 0).values(**values)).rowcount
    if count != 1:
        raise AssertionError('no live %s row on %s' % (binary, host))


class StalePolicyDBTestsMixin(object):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(120, gentle=True))
        self.now = now_seconds()
        self.fresh = self.now - datetime.timedelta(seconds=5)
        self.old = self.now - datetime.timedelta(hours=2)

    def _create(self, host, binary=C, release=None, heartbeat=None, **kw):
        svc = objects.Service(self.context, host=host, binary=binary,
                              topic=binary[5:], **kw)
        if release is None:
            svc.create()
        else:
            with nv_fixtures.OlderRelease(release):
                svc.create()
        set_times(self.db.engine, host, binary,
                  last_seen_up=heartbeat or self.fresh)
        return svc

    def _policy(self, timeout=TIMEOUT):
        self.flags(stale_service_timeout=timeout, group='versioning')

    def _min(self, binary=C):
        return objects.Service.get_minimum_version(self.context, binary)

    def test_policy_off_stale_records_count(self):
        # Oldest first: guard 1 refuses an older record after newer ones.
        self._create('stale', release='ocata', heartbeat=self.old)
        self._create('new')
        self.assertEqual(5, self._min())
        self.assertEqual(['stale'], [s.host for s in objects.Service
                                     .get_all_at_minimum_version(
                                         self.context, C)])

    def test_minimum_leaves_out_stale_records(self):
        self._create('stale', release='ocata', heartbeat=self.old)
        self._create('pike', release='pike')
        self._create('new')
        self._create('ctl-stale', D, release='pike', heartbeat=self.old)
        self._policy()
        self.assertEqual({C: 6, D: 0}, objects.Service.get_minimum_versions(
            self.context, [C, D]))
        self.assertEqual(6, objects.Service.get_minimum_version_multi(
            self.context, [C, D]))
        self.assertEqual(['pike'], [s.host for s in objects.Service
                                    .get_all_at_minimum_version(
                                        self.context, C)])

    def test_heartbeat_is_last_seen_up_else_updated_else_created(self):
        recent = self.now - datetime.timedelta(seconds=30)
        # last_seen_up wins, even over a recent updated_at.
        self._create('a', release='ocata')
        set_times(self.db.engine, 'a', C, last_seen_up=self.old,
                  updated_at=recent, created_at=self.old)
        # No heartbeat yet: updated_at, then created_at.
        self._create('b', release='pike')
        set_times(self.db.engine, 'b', C, last_seen_up=None,
                  updated_at=self.old, created_at=self.old)
        self._create('c', release='pike')
        set_times(self.db.engine, 'c', C, last_seen_up=None,
                  updated_at=None, created_at=recent)
        self._create('d', release='pike')
        set_times(self.db.engine, 'd', C, last_seen_up=recent,
                  updated_at=self.old, created_at=self.old)
        self._policy()
        # a (ocata) and b are stale; c and d (pike) are counted.
        self.assertEqual(6, self._min())
        at_minimum = objects.Service.get_all_at_minimum_version(
            self.context, C)
        self.assertEqual(['c', 'd'], [s.host for s in at_minimum])
        # The report judges heartbeats as the queries do.
        fleet = pinreport.Fleet.load(self.context, now=self.now)
        self.assertEqual(
            [('a', True, False, self.old), ('b', True, False, self.old),
             ('c', False, True, recent), ('d', False, True, recent)],
            [(r.host, r.stale, r.counted, r.last_heartbeat)
             for r in fleet.of(C)])
        self.assertEqual(6, fleet.minimum(C))

    def test_guard2_ignores_stale_computes_under_the_policy(self):
        self._create('gone', release='newton', heartbeat=self.old)
        self._create('new')
        self.assertRaises(exception.TooOldComputeService,
                          guards.check_oldest_supported_computes,
                          self.context, 'nova-conductor')
        self._policy()
        self.assertEqual([], guards.check_oldest_supported_computes(
            self.context, 'nova-conductor'))
        # A fresh heartbeat makes it count again.
        set_times(self.db.engine, 'gone', C, last_seen_up=self.fresh)
        self.assertRaises(exception.TooOldComputeService,
                          guards.check_oldest_supported_computes,
                          self.context, 'nova-conductor')

    def test_guard1_refuses_a_host_back_older_than_the_live_others(self):
        self._create('stale-pike', release='pike', heartbeat=self.old)
        back = self._create('back', release='pike', heartbeat=self.old)
        self._create('new')
        # Policy off: the other stale pike record still counts, so the
        # minimum of the others is 6 and "back" may re-register at 6.
        with nv_fixtures.OlderRelease('pike'):
            back.save()
        self._policy()
        objects.Service.clear_min_version_cache()
        record = objects.Service.get_by_host_and_binary(self.context,
                                                        'back', C)
        with nv_fixtures.OlderRelease('pike'):
            error = self.assertRaises(exception.ServiceTooOld, record.save)
        self.assertIn('older than the minimum version 7 of the other '
                      'nova-compute services', str(error))
        # A heartbeat of the running old service is still written.
        record = objects.Service.get_by_host_and_binary(self.context,
                                                        'back', C)
        record.last_seen_up = timeutils.utcnow()
        record.save()
        self.assertEqual(6, objects.Service.get_by_id(
            self.context, record.id).version)

    def test_guard1_own_record_exact_query_with_the_policy(self):
        # The own record is fresh and alone at the minimum: the minimum
        # (read fresh) is its own version, so the other hosts are read
        # exactly too (stale ones left out).
        self._create('stale-pike', release='pike', heartbeat=self.old)
        mine = self._create('mine', release='pike')
        self._create('new')
        self._policy()
        self.assertEqual(6, self._min())
        sql = self.useFixture(utils.StatementCounter(self.db.engine))
        with nv_fixtures.OlderRelease('pike'):
            self.assertRaises(exception.ServiceTooOld, mine.save)
        self.assertEqual(2, len(sql.minimum_queries()), sql.statements)

    def test_cache_is_scoped_by_the_timeout(self):
        self.flags(minimum_version_cache_ttl=300, group='versioning')
        self._create('stale', release='ocata', heartbeat=self.old)
        self._create('new')
        sql = self.useFixture(utils.StatementCounter(self.db.engine))
        # Cached by the guard of the last registration.
        self.assertEqual(5, self._min())
        self.assertEqual(5, self._min())
        self.assertEqual(0, len(sql.minimum_queries()))
        self._policy()
        self.assertEqual(7, self._min())
        self.assertEqual(7, self._min())
        self.assertEqual(1, len(sql.minimum_queries()))
        self._policy(0)
        self.assertEqual(5, self._min())
        self.assertEqual(2, len(sql.minimum_queries()))

    def test_stale_filter_keeps_the_min_version_index(self):
        # Most rows of the binary are fresh: a table scan is tempting.
        for i in range(30):
            self._create('h%02d' % i)
        cutoff = now_seconds() - datetime.timedelta(seconds=TIMEOUT)
        stmt = db_api._min_version_select(C, counted_since=cutoff)
        engine = self.db.engine
        sql = str(stmt.compile(engine,
                               compile_kwargs={'literal_binds': True}))
        with engine.connect() as conn:
            if engine.dialect.name == 'sqlite':
                plan = ' '.join(str(row[-1]) for row in conn.execute(
                    sa.text('EXPLAIN QUERY PLAN ' + sql)))
                self.assertIn('USING INDEX %s' % models.MIN_VERSION_INDEX,
                              plan)
            elif engine.dialect.name == 'mysql':
                rows = conn.execute(sa.text('EXPLAIN ' + sql)).mappings()
                self.assertEqual([models.MIN_VERSION_INDEX],
                                 [row['key'] for row in rows])
            else:
                # The planner may prefer a scan of a tiny table; the index
                # must at least serve this shape.
                conn.execute(sa.text('SET enable_seqscan = off'))
                plan = ' '.join(row[0] for row in conn.execute(
                    sa.text('EXPLAIN ' + sql)))
                self.assertIn('Index Scan using %s'
                              % models.MIN_VERSION_INDEX, plan)
            self.assertEqual(7, conn.execute(sa.text(sql)).scalar())


class StalePolicySQLiteTestCase(StalePolicyDBTestsMixin, base.DBTestCase):
    pass
