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
"""The Service object on a real schema.

``ServiceDBTestsMixin`` and ``SchemaTestsMixin`` run here on SQLite and in
``nova_versioning.tests.functional.test_service_db`` on MariaDB and
PostgreSQL.
"""

import threading
from unittest import mock

import fixtures
from oslo_db.sqlalchemy import test_migrations
from oslo_utils import uuidutils
from oslo_versionedobjects import exception as ovo_exc
import sqlalchemy as sa
import testtools

from nova_versioning import cache
from nova_versioning import context as nv_context
from nova_versioning.db import api as db_api
from nova_versioning.db import migration
from nova_versioning.db import models
from nova_versioning import exception
from nova_versioning import fixtures as nv_fixtures
from nova_versioning import history
from nova_versioning import objects
from nova_versioning.objects import service as service_obj
from nova_versioning.tests import base
from nova_versioning.tests import utils

C = 'nova-compute'
D = 'nova-conductor'
S = 'nova-scheduler'
CURRENT = 7     # queens
THREADS = 32
BAD_BINARIES = ('compute', 'nova-', 'Nova-compute', 'nova-Compute',
                'nova compute', ' nova-compute', 'nova-compute\n',
                'nova-_x', '', None, 42)


def run_threads(count, target):
    """Run target(i) in count threads released at once.

    :returns: list of ('ok', result) or ('error', exception), by index.
    """
    results = [None] * count
    start = threading.Barrier(count)

    def run(i):
        try:
            start.wait(timeout=30)
            results[i] = ('ok', target(i))
        except Exception as exc:
            results[i] = ('error', exc)

    threads = [threading.Thread(target=run, args=(i,), daemon=True)
               for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    if any(t.is_alive() for t in threads):
        raise AssertionError('threads still running after 60 s')
    return results


class ServiceDBTestsMixin(object):
    """Service object tests, for every database backend."""

    def setUp(self):
        super().setUp()
        # A lost wake-up or a lock wait must fail the test, not hang the run.
        self.useFixture(fixtures.Timeout(120, gentle=True))
        self.sql = self.useFixture(utils.StatementCounter(self.db.engine))

    # -- helpers -----------------------------------------------------------

    def _service(self, host, binary=C, ctxt=None, **kw):
        return objects.Service(ctxt or self.context, host=host,
                               binary=binary, topic=binary[5:], **kw)

    def _create(self, host, binary=C, release=None, **kw):
        svc = self._service(host, binary, **kw)
        if release is None:
            svc.create()
        else:
            with nv_fixtures.OlderRelease(release):
                svc.create()
        return svc

    def _rows(self):
        """Every row of the table, read with plain SQL, by id."""
        with self.db.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(
                'SELECT id, host, ' + self._quoted('binary') +
                ', version, deleted, forced_down FROM services '
                'ORDER BY id'))]

    def _quoted(self, name):
        return self.db.engine.dialect.identifier_preparer.quote(name)

    def _summary(self, services):
        return [(s.host, s.binary, s.version) for s in services]

    def _min(self, binary=C):
        return objects.Service.get_minimum_version(self.context, binary)

    # -- minimum version ---------------------------------------------------

    def test_minimum_none_is_zero(self):
        self.assertEqual(0, self._min())
        self.assertEqual(0, objects.Service.get_minimum_version_multi(
            self.context, [C, D]))

    def test_minimum_of_one_binary(self):
        self._create('h1', release='ocata')
        self._create('h2', release='pike')
        self._create('h3')
        self.assertEqual(5, self._min())
        self.assertEqual(0, self._min(D))

    def test_minimum_ignores_deleted(self):
        self._create('old', release='ocata').destroy()
        self._create('new')
        self.assertEqual(CURRENT, self._min())

    def test_minimum_all_deleted_is_zero(self):
        self._create('old', release='ocata').destroy()
        self.assertEqual(0, self._min())

    def test_minimum_ignores_forced_down(self):
        self._create('old', release='ocata', forced_down=True)
        self._create('new')
        self.assertEqual(CURRENT, self._min())

    def test_minimum_forced_down_by_admin_save(self):
        old = self._create('old', release='newton')
        self._create('new')
        self.assertEqual(3, self._min())
        old.forced_down = True
        old.save()
        # The forced-down record keeps its version and stops counting,
        # and the local write dropped the cached minimum.
        self.assertEqual(3, objects.Service.get_by_id(
            self.context, old.id).version)
        self.assertEqual(CURRENT, self._min())
        old.forced_down = False
        old.save()
        self.assertEqual(3, self._min())

    def test_minimum_all_forced_down_is_zero(self):
        self._create('old', release='ocata', forced_down=True)
        self.assertEqual(0, self._min())

    def test_minimum_per_binary(self):
        self._create('h1', C, release='newton')
        self._create('h1', D, release='pike')
        self._create('h2', D)
        self._create('h1', S)
        self.assertEqual(3, self._min(C))
        self.assertEqual(6, self._min(D))
        self.assertEqual(CURRENT, self._min(S))
        self.assertEqual(0, self._min('nova-api'))

    def test_minimum_multi(self):
        self._create('h1', C, release='newton')
        self._create('h1', D, release='pike')
        self.sql.reset()
        self.assertEqual(3, objects.Service.get_minimum_version_multi(
            self.context, [D, C, S]))
        self.assertEqual(1, len(self.sql.minimum_queries()))
        self.assertEqual(6, objects.Service.get_minimum_version_multi(
            self.context, [D, S]))
        self.assertEqual(0, objects.Service.get_minimum_version_multi(
            self.context, [S, 'nova-api']))
        self.assertEqual(0, objects.Service.get_minimum_version_multi(
            self.context, []))

    def test_minimum_versions_one_query(self):
        self._create('h1', C, release='newton')
        self._create('h2', C, release='ocata')
        self._create('h1', D, release='pike')
        self.sql.reset()
        self.assertEqual(
            {C: 3, D: 6, S: 0},
            objects.Service.get_minimum_versions(self.context, [C, D, S]))
        self.assertEqual(1, len(self.sql.minimum_queries()))
        self.assertEqual(1, len(self.sql.on_services()), self.sql.statements)

    def test_all_at_minimum_version(self):
        self._create('down', release='newton', forced_down=True)
        self._create('b', release='ocata')
        self._create('a', release='ocata')
        self._create('new')
        self._create('x', D, release='liberty')
        self.assertEqual(
            [('a', C, 5), ('b', C, 5)],
            self._summary(objects.Service.get_all_at_minimum_version(
                self.context, C)))
        self.assertEqual([], objects.Service.get_all_at_minimum_version(
            self.context, S))

    # -- create and the guard ----------------------------------------------

    def test_create_records_current_version(self):
        svc = self._create('h1', disabled=False)
        self.assertEqual(CURRENT, svc.version)
        self.assertEqual([(svc.id, 'h1', C, CURRENT, 0, False)],
                         self._rows())
        got = objects.Service.get_by_host_and_binary(self.context, 'h1', C)
        self.assertEqual((svc.id, svc.uuid, 'compute', 0, False, False,
                          CURRENT, False),
                         (got.id, got.uuid, got.topic, got.report_count,
                          got.disabled, got.forced_down, got.version,
                          got.deleted))
        self.assertEqual(set(), got.obj_what_changed())

    def test_create_above_minimum(self):
        self._create('old', release='pike')
        svc = self._create('new')
        self.assertEqual(CURRENT, svc.version)
        self.assertEqual([('old', 6), ('new', CURRENT)],
                         [(r[1], r[3]) for r in self._rows()])

    def test_create_equal_to_minimum(self):
        self._create('h1', release='pike')
        svc = self._create('h2', release='pike')
        self.assertEqual(6, svc.version)
        self.assertEqual(2, len(self._rows()))

    def test_create_below_minimum_refused_nothing_written(self):
        self._create('h1')
        self._create('h2')
        before = self._rows()
        svc = self._service('old')
        with nv_fixtures.OlderRelease('ocata'):
            exc = self.assertRaises(exception.ServiceTooOld, svc.create)
        self.assertEqual(5, exc.thisver)
        self.assertEqual(CURRENT, exc.minver)
        self.assertEqual('old', exc.host)
        self.assertEqual(C, exc.binary)
        self.assertEqual(before, self._rows())
        self.assertEqual(
            ['h1', 'h2'],
            [s.host for s in objects.Service.get_all(
                self.context, include_deleted=True)])
        self.assertFalse(svc.obj_attr_is_set('id'))

    def test_create_below_minimum_other_binary_allowed(self):
        self._create('h1', D)
        svc = self._create('h1', C, release='ocata')
        self.assertEqual(5, svc.version)

    def test_create_below_forced_down_and_deleted_allowed(self):
        self._create('down', forced_down=True)
        self._create('gone').destroy()
        svc = self._create('old', release='ocata')
        self.assertEqual(5, svc.version)

    def test_create_twice_refused(self):
        svc = self._create('h1')
        self.assertRaises(exception.ObjectActionError, svc.create)
        self.assertEqual(1, len(self._rows()))

    def test_create_duplicate_raises_service_exists(self):
        self._create('h1')
        exc = self.assertRaises(exception.ServiceExists, self._create, 'h1')
        self.assertEqual(
            'Service with host h1 binary nova-compute exists.', str(exc))
        self.assertEqual(1, len(self._rows()))

    def test_too_old_message(self):
        self._create('h1')
        with nv_fixtures.OlderRelease('ocata'):
            exc = self.assertRaises(exception.ServiceTooOld,
                                    self._create, 'old-host')
            # Code emulating an old release may not know the name of the
            # newer one.
            newest = history.get_history().describe(CURRENT)
        self.assertIn(newest, ('7', '7 (queens)'))
        self.assertEqual(
            'Service nova-compute on host old-host is version 5 (ocata), '
            'older than the minimum version %(new)s of the other '
            'nova-compute services: refusing to register it, nothing was '
            'written. Upgrade old-host to version %(new)s or newer; or, '
            'if the newer nova-compute services are gone for good, delete '
            'or force down their records so they stop counting toward the '
            'minimum.' % {'new': newest}, str(exc))

    # -- save and the guard ------------------------------------------------

    def test_save_below_minimum_refused_record_unchanged(self):
        svc = self._create('h1')
        self._create('h2')
        before = self._rows()
        svc.topic = 'changed'
        with nv_fixtures.OlderRelease('pike'):
            exc = self.assertRaises(exception.ServiceTooOld, svc.save)
        self.assertEqual((6, CURRENT), (exc.thisver, exc.minver))
        self.assertEqual(before, self._rows())
        got = objects.Service.get_by_id(self.context, svc.id)
        self.assertEqual(('compute', CURRENT), (got.topic, got.version))

    def test_save_reregistration_at_minimum_allowed(self):
        svc = self._create('h1', release='pike')
        self._create('h2', release='pike')
        svc.topic = 'changed'
        with nv_fixtures.OlderRelease('pike'):
            svc.save()
        got = objects.Service.get_by_id(self.context, svc.id)
        self.assertEqual(('changed', 6), (got.topic, got.version))

    def test_save_without_changes_reregisters_at_current_version(self):
        svc = self._create('h1', release='pike')
        self._create('h2', release='pike')
        svc = objects.Service.get_by_host_and_binary(self.context, 'h1', C)
        svc.save()
        self.assertEqual(CURRENT, svc.version)
        self.assertEqual(CURRENT, objects.Service.get_by_id(
            self.context, svc.id).version)
        self.assertEqual(6, self._min())

    def test_stale_own_record_refused_once_others_newer(self):
        # The old host's own record holds the minimum down; the guard must
        # compare it with the *other* records, which are all newer.
        self._create('old', release='ocata')
        self._create('h1', release='ocata')
        self._create('h2')
        h1 = objects.Service.get_by_host_and_binary(self.context, 'h1', C)
        h1.save()   # h1 upgraded and restarted: now at the current version
        self.assertEqual(5, self._min())
        old = objects.Service.get_by_host_and_binary(self.context, 'old', C)
        before = self._rows()
        with nv_fixtures.OlderRelease('ocata'):
            exc = self.assertRaises(exception.ServiceTooOld, old.save)
        self.assertEqual((5, CURRENT), (exc.thisver, exc.minver))
        self.assertIn('host old ', str(exc))
        self.assertEqual(before, self._rows())

    def test_stale_own_record_upgraded_but_still_older_refused(self):
        self._create('old', release='newton')
        self._create('h1', release='newton')
        h1 = objects.Service.get_by_host_and_binary(self.context, 'h1', C)
        h1.save()
        old = objects.Service.get_by_host_and_binary(self.context, 'old', C)
        with nv_fixtures.OlderRelease('pike'):
            exc = self.assertRaises(exception.ServiceTooOld, old.save)
        self.assertEqual((6, CURRENT), (exc.thisver, exc.minver))
        self.assertEqual(3, objects.Service.get_by_id(
            self.context, old.id).version)

    def test_stale_own_record_allowed_while_another_is_as_old(self):
        self._create('old', release='ocata')
        self._create('old2', release='ocata')
        self._create('new')
        old = objects.Service.get_by_host_and_binary(self.context, 'old', C)
        with nv_fixtures.OlderRelease('ocata'):
            old.save()
        self.assertEqual(5, self._min())

    def test_own_record_alone_can_restart_older(self):
        # A single host may be rolled back: there are no others.
        svc = self._create('only')
        with nv_fixtures.OlderRelease('pike'):
            svc = objects.Service.get_by_host_and_binary(
                self.context, 'only', C)
            svc.save()
        self.assertEqual(6, objects.Service.get_by_id(
            self.context, svc.id).version)

    def test_heartbeat_of_old_host_not_refused_no_minimum_query(self):
        self._create('old', release='ocata')
        self._create('h1')
        self._create('h2')
        old = objects.Service.get_by_host_and_binary(self.context, 'old', C)
        self.sql.reset()
        with nv_fixtures.OlderRelease('ocata'):
            old.report_count += 1
            old.save()
        self.assertEqual([], self.sql.minimum_queries())
        got = objects.Service.get_by_id(self.context, old.id)
        self.assertEqual((1, 5), (got.report_count, got.version))

    def test_heartbeat_reads_its_row_once(self):
        svc = self._create('h1')
        self.sql.reset()
        svc.report_count += 1
        svc.save()
        # One SELECT ... FOR UPDATE (SQLite has no FOR UPDATE), one UPDATE.
        self.assertEqual(1, len(self.sql.on_services()), self.sql.statements)
        self.assertEqual(1, len(self.sql.on_services('UPDATE')),
                         self.sql.statements)

    def test_heartbeat_does_not_rewrite_version(self):
        old = self._create('old', release='ocata')
        # Even saved by newer code, a heartbeat keeps the recorded version.
        old.report_count += 1
        old.save()
        self.assertEqual(5, old.version)
        self.assertEqual(5, objects.Service.get_by_id(
            self.context, old.id).version)

    def test_admin_update_keeps_version(self):
        self._create('old', release='ocata')
        admin_view = objects.Service.get_by_host_and_binary(
            self.context, 'old', C)
        admin_view.disabled = True
        admin_view.disabled_reason = 'maintenance'
        admin_view.save()
        got = objects.Service.get_by_id(self.context, admin_view.id)
        self.assertEqual((True, 'maintenance', 5),
                         (got.disabled, got.disabled_reason, got.version))

    # -- cache -------------------------------------------------------------

    def _registered_elsewhere(self, host, release=None, **kw):
        """A record registered by another process: not seeded here."""
        svc = self._create(host, release=release, **kw)
        objects.Service.clear_min_version_cache()
        return svc

    def test_cache_hit_runs_no_sql(self):
        self._registered_elsewhere('h1', release='pike')
        self.sql.reset()
        self.assertEqual(6, self._min())
        self.assertEqual(1, len(self.sql.on_services()))
        self.sql.reset()
        self.assertEqual(6, self._min())
        self.assertEqual(6, objects.Service.get_minimum_version_multi(
            self.context, [C]))
        self.assertEqual([], self.sql.statements)

    def test_fresh_reads_skip_the_cache(self):
        self._create('h1', release='pike')
        self._create('d1', binary=D, release='ocata')
        self.assertEqual(6, self._min())
        self.assertEqual(5, self._min(D))
        # Another process upgrades both behind our back.
        with self.db.engine.begin() as conn:
            conn.execute(sa.text('UPDATE services SET version = 7'))
        self.sql.reset()
        self.assertEqual(6, self._min())
        self.assertEqual({C: 6, D: 5}, objects.Service.get_minimum_versions(
            self.context, [C, D]))
        self.assertEqual([], self.sql.statements)
        # Each fresh read is one minimum query, and replaces the answer.
        self.assertEqual(7, objects.Service.get_minimum_version(
            self.context, C, fresh=True))
        self.assertEqual(1, len(self.sql.minimum_queries()))
        self.assertEqual(7, self._min())
        self.assertEqual({C: 7, D: 7}, objects.Service.get_minimum_versions(
            self.context, [C, D], fresh=True))
        self.assertEqual(7, objects.Service.get_minimum_version_multi(
            self.context, [C, D], fresh=True))
        self.assertEqual(3, len(self.sql.minimum_queries()))

    def test_cache_ttl_expiry(self):
        clock = [100.0]
        self.useFixture(fixtures.MockPatchObject(
            service_obj.MIN_VERSION_CACHE, '_clock', lambda: clock[0]))
        self.flags(minimum_version_cache_ttl=10, group='versioning')
        self._registered_elsewhere('h1', release='pike')
        self.sql.reset()
        self.assertEqual(6, self._min())
        clock[0] += 9.5
        self.assertEqual(6, self._min())
        self.assertEqual(1, len(self.sql.minimum_queries()))
        # Another process upgrades h1 behind our back: the cache hides it
        # until the TTL runs out.
        self._write_version('h1', CURRENT)
        self.assertEqual(6, self._min())
        clock[0] += 0.5
        self.assertEqual(CURRENT, self._min())
        self.assertEqual(2, len(self.sql.minimum_queries()))

    def _write_version(self, host, version):
        with self.db.engine.begin() as conn:
            conn.execute(sa.text(
                'UPDATE services SET version = :v WHERE host = :h'),
                {'v': version, 'h': host})

    def test_cache_ttl_zero_always_queries(self):
        self.flags(minimum_version_cache_ttl=0, group='versioning')
        self._create('h1', release='pike')
        self.sql.reset()
        for _ in range(3):
            self.assertEqual(6, self._min())
        self.assertEqual(3, len(self.sql.minimum_queries()))

    def test_cache_clear(self):
        self._create('h1', release='pike')
        self.assertEqual(6, self._min())
        self._write_version('h1', CURRENT)
        self.assertEqual(6, self._min())
        objects.Service.clear_min_version_cache()
        self.sql.reset()
        self.assertEqual(CURRENT, self._min())
        self.assertEqual(1, len(self.sql.minimum_queries()))

    def test_zero_not_cached(self):
        self.assertEqual(0, self._min())
        self._create('h1')
        self.assertEqual(CURRENT, self._min())

    def test_local_writes_forget_cached_minimum(self):
        h2 = self._create('h2', release='pike', forced_down=True)
        old = self._create('old', release='ocata')
        self._create('h1')
        self.assertEqual(5, self._min())
        old.destroy()
        self.assertEqual(CURRENT, self._min())
        # so does an administrative update of forced_down
        h2.forced_down = False
        h2.save()
        self.assertEqual(6, self._min())

    def test_each_registration_reads_the_minimum_fresh(self):
        self._registered_elsewhere('h0', release='pike')
        self.sql.reset()
        for i in range(1, 11):
            self._create('h%d' % i)
        # Every guard reads the minimum (one probe each); its answer
        # replaces the cached one, which the lookups then use.
        self.assertEqual(10, len(self.sql.minimum_queries()))
        self.assertEqual(6, self._min())
        self.assertEqual(10, len(self.sql.minimum_queries()))

    def test_guard_does_not_trust_a_cached_minimum(self):
        # This process cached ocata as the minimum; another conductor has
        # since upgraded that host's record to queens.
        old = self._registered_elsewhere('h0', release='ocata')
        self.flags(minimum_version_cache_ttl=300, group='versioning')
        self.assertEqual(5, self._min())
        with self.db.engine.begin() as conn:
            conn.execute(sa.text('UPDATE services SET version = 7 '
                                 'WHERE id = :id'), {'id': old.id})
        self.assertEqual(5, self._min())
        # A pike compute is older than every other one: refused, although
        # the cached minimum (ocata) would have admitted it.
        exc = self.assertRaises(exception.ServiceTooOld, self._create, 'h1',
                                release='pike')
        self.assertEqual((6, 7), (exc.thisver, exc.minver))
        self.assertEqual(['h0'], [s.host for s in objects.Service.get_all(
            self.context)])

    # -- the first registration of a binary seeds the cache ------------------

    def test_first_registration_seeds_the_minimum(self):
        # A startup storm on an empty table: the first guard reads 0 (not
        # cached); its record's version is then the minimum, so the
        # lookups do not read it again (each guard reads fresh).
        self._create('h0', release='pike')
        self.assertEqual(1, len(self.sql.minimum_queries()))
        self.assertEqual(6, service_obj.MIN_VERSION_CACHE.peek(C))
        self.assertEqual(6, self._min())
        self.assertEqual(1, len(self.sql.minimum_queries()))
        for i in range(1, 6):
            self._create('h%d' % i)
        self.assertEqual(6, len(self.sql.minimum_queries()))
        self.assertEqual(6, self._min())
        self.assertEqual(6, len(self.sql.minimum_queries()))
        self.assertEqual(6, service_obj.MIN_VERSION_CACHE.peek(C))

    def test_seed_is_per_binary(self):
        self._create('h0', release='pike')
        self.assertIsNone(service_obj.MIN_VERSION_CACHE.peek(D))
        self.sql.reset()
        self.assertEqual(0, self._min(D))
        self.assertEqual(1, len(self.sql.minimum_queries()))

    def test_forced_down_first_record_seeds_nothing(self):
        # It does not count: the minimum is still 0, and read again.
        self._create('h0', release='pike', forced_down=True)
        self.sql.reset()
        self.assertEqual(0, self._min())
        self.assertEqual(1, len(self.sql.minimum_queries()))
        self._create('h1')
        self.assertEqual(CURRENT, self._min())

    def test_registration_against_a_read_minimum_seeds_nothing(self):
        # Another process's older record was there first: the guard read
        # its version, which stays the cached minimum.
        self._registered_elsewhere('old', release='ocata')
        self._create('h1')
        self.sql.reset()
        self.assertEqual(5, self._min())
        self.assertEqual([], self.sql.minimum_queries())

    def test_clear_during_first_registration_drops_the_seed(self):
        # A reload clears the cache while the guard's 0 is being acted on:
        # that 0 may be stale, so nothing is seeded from it.
        original = db_api.service_create

        def create_then_clear(context, values):
            result = original(context, values)
            objects.Service.clear_min_version_cache()
            return result

        self.useFixture(fixtures.MockPatchObject(
            db_api, 'service_create', create_then_clear))
        self._create('h0', release='pike')
        self.assertIsNone(service_obj.MIN_VERSION_CACHE.peek(C))

    def test_other_process_cannot_register_below_the_seed(self):
        # Cross-process: once our first record is committed, another
        # process's guard (with its own cache) reads it and refuses an
        # older service, so the seeded minimum stays the true minimum.
        self._create('h0')
        other_cache = cache.MinimumVersionCache(
            lambda: service_obj.CONF.versioning.minimum_version_cache_ttl)
        with mock.patch.object(service_obj, 'MIN_VERSION_CACHE',
                               other_cache):
            self.assertRaises(exception.ServiceTooOld, self._create,
                              'old', release='pike')
            # And one at or above it is admitted, without lowering it.
            self._create('h1')
            self.assertEqual(CURRENT, self._min())
        self.assertEqual(CURRENT, self._min())
        self.assertEqual([CURRENT, CURRENT],
                         [r[3] for r in self._rows()])

    def test_lookup_racing_with_first_registration_keeps_the_lower(self):
        # Our pike record was admitted against 0 before another process's
        # current record existed, and commits (seeding 6) while a lookup's
        # query runs: the lookup read only the other record. The cache
        # keeps the lower of the two.
        self._write_row('other', CURRENT)
        original = db_api.service_get_minimum_version

        def read_then_seed(context, binaries, **kwargs):
            values = original(context, binaries, **kwargs)
            service_obj.MIN_VERSION_CACHE.seed(
                C, 6, service_obj.MIN_VERSION_CACHE.generation)
            return values

        self.useFixture(fixtures.MockPatchObject(
            db_api, 'service_get_minimum_version', read_then_seed))
        self.assertEqual(CURRENT, self._min())
        self.assertEqual(6, service_obj.MIN_VERSION_CACHE.peek(C))

    def test_concurrent_lower_first_registration_seen_after_ttl(self):
        # The one case a seed cannot see: another process admitted an
        # older first record concurrently (its guard read 0 before our
        # record committed). Nothing in this process can tell until it
        # reads again; the TTL bounds how long, as for any cached answer.
        clock = [100.0]
        self.useFixture(fixtures.MockPatchObject(
            service_obj.MIN_VERSION_CACHE, '_clock', lambda: clock[0]))
        self.flags(minimum_version_cache_ttl=10, group='versioning')
        self._create('h0')
        self._write_row('racer', 6)
        self.assertEqual(CURRENT, self._min())
        clock[0] += 10
        self.assertEqual(6, self._min())

    def _write_row(self, host, version):
        with self.db.engine.begin() as conn:
            conn.execute(sa.text(
                'INSERT INTO services (uuid, host, ' + self._quoted('binary')
                + ', topic, report_count, disabled, forced_down, version, '
                'deleted) VALUES (:u, :h, :b, :t, 0, :f, :f, :v, 0)'),
                {'u': uuidutils.generate_uuid(), 'h': host, 'b': C,
                 't': 'compute', 'f': False, 'v': version})

    def test_heartbeat_inside_ttl_runs_no_minimum_query(self):
        self._create('h2', release='pike')
        svc = self._create('h1')
        self.assertEqual(6, self._min())
        self.sql.reset()
        for _ in range(3):
            svc.report_count += 1
            svc.save()
        self.assertEqual(6, self._min())
        self.assertEqual([], self.sql.minimum_queries())
        self.assertEqual(3, objects.Service.get_by_id(
            self.context, svc.id).report_count)

    def test_single_flight_32_threads_one_query(self):
        self._registered_elsewhere('h1', release='pike')
        waiters = self.useFixture(utils.FlightWaiters())
        held = []

        def hold_minimum_query(statement):
            # Answer only once every other caller waits on this query.
            if utils.is_minimum_query(statement):
                held.append(waiters.wait_for(THREADS - 1, timeout=20))

        self.sql.hooks.append(hold_minimum_query)
        self.sql.reset()
        results = run_threads(THREADS, lambda i: self._min_in_own_context())
        self.assertEqual([('ok', 6)] * THREADS, results)
        self.assertEqual([True], held)
        self.assertEqual(1, len(self.sql.minimum_queries()))

    def _min_in_own_context(self):
        return objects.Service.get_minimum_version(
            nv_context.get_admin_context(), C)

    # -- concurrency -------------------------------------------------------

    def test_32_concurrent_registrations_one_row(self):
        def register(i):
            svc = self._service('racer', ctxt=nv_context.get_admin_context())
            svc.create()
            return svc.id

        results = run_threads(THREADS, register)
        ok = [r[1] for r in results if r[0] == 'ok']
        errors = [r[1] for r in results if r[0] == 'error']
        self.assertEqual(1, len(ok), results)
        self.assertEqual([(ok[0], 'racer', C, CURRENT, 0, False)],
                         self._rows())
        # The losers are told why: the record exists (not a raw database
        # error they cannot act on).
        self.assertEqual(
            [exception.ServiceExists] * (THREADS - 1),
            [type(e) for e in errors], errors)

    def test_32_concurrent_heartbeats_of_different_hosts(self):
        services = [self._create('h%02d' % i) for i in range(THREADS)]

        def heartbeat(i):
            svc = objects.Service.get_by_id(
                nv_context.get_admin_context(), services[i].id)
            svc.report_count += 1
            svc.save()
            return svc.report_count

        results = run_threads(THREADS, heartbeat)
        self.assertEqual([('ok', 1)] * THREADS, results)
        self.assertEqual(
            [1] * THREADS,
            [s.report_count for s in objects.Service.get_all(self.context)])

    # -- validation --------------------------------------------------------

    def test_bad_binary_create(self):
        for bad in BAD_BINARIES:
            svc = objects.Service(self.context, host='h1')
            if bad is not None:
                svc.binary = bad
            exc = self.assertRaises(exception.InvalidBinary, svc.create)
            self.assertIn('"nova-<name>"', str(exc))
        self.assertEqual([], self._rows())

    def test_bad_binary_lookups(self):
        self.sql.reset()
        for bad in BAD_BINARIES:
            self.assertRaises(exception.InvalidBinary,
                              objects.Service.get_minimum_version,
                              self.context, bad)
            self.assertRaises(exception.InvalidBinary,
                              objects.Service.get_minimum_version_multi,
                              self.context, [C, bad])
            self.assertRaises(exception.InvalidBinary,
                              objects.Service.get_minimum_versions,
                              self.context, [bad])
            self.assertRaises(exception.InvalidBinary,
                              objects.Service.get_by_host_and_binary,
                              self.context, 'h1', bad)
            self.assertRaises(exception.InvalidBinary,
                              objects.Service.get_counted_older_than,
                              self.context, bad, 7)
            self.assertRaises(exception.InvalidBinary,
                              objects.Service.get_all_at_minimum_version,
                              self.context, bad)
            if bad is not None:
                self.assertRaises(exception.InvalidBinary,
                                  objects.Service.get_all,
                                  self.context, binary=bad)
        self.assertEqual([], self.sql.statements)

    def test_binary_with_trailing_newline_rejected(self):
        # A regular expression ending in '$' also matches before a
        # trailing newline; the name must match exactly.
        bad = 'nova-compute\n'
        self.assertRaises(exception.InvalidBinary,
                          objects.Service.get_minimum_version,
                          self.context, bad)
        svc = objects.Service(self.context, host='h1', binary=bad)
        self.assertRaises(exception.InvalidBinary, svc.create)
        self.assertEqual([], self._rows())

    def test_bad_binary_message(self):
        exc = self.assertRaises(exception.InvalidBinary,
                                objects.Service.get_minimum_version,
                                self.context, 'compute')
        self.assertEqual(
            'Invalid service binary \'compute\': binaries are named '
            '"nova-<name>", for example "nova-compute".', str(exc))

    def test_bad_binary_save(self):
        svc = self._create('h1')
        svc.binary = 'compute'
        self.assertRaises(exception.InvalidBinary, svc.save)
        self.assertEqual(C, objects.Service.get_by_id(
            self.context, svc.id).binary)

    def test_version_cannot_be_set_by_caller(self):
        exc = self.assertRaises(exception.ObjectActionError,
                                objects.Service, self.context, host='h1',
                                binary=C, version=3)
        self.assertIn('cannot be set by the caller', str(exc))
        svc = self._create('h1')
        self.assertRaises(ovo_exc.ReadOnlyFieldError,
                          setattr, svc, 'version', 3)
        self.assertEqual(CURRENT, objects.Service.get_by_id(
            self.context, svc.id).version)

    def test_version_set_before_create_is_overridden(self):
        svc = self._service('h1')
        svc.version = 3
        svc.create()
        self.assertEqual(CURRENT, svc.version)
        self.assertEqual(CURRENT, self._rows()[0][3])

    # -- soft delete -------------------------------------------------------

    def test_soft_delete(self):
        svc = self._create('h1', release='pike')
        keep = self._create('h2')
        svc.destroy()
        self.assertTrue(svc.deleted)
        self.assertIsNotNone(svc.deleted_at)
        self.assertEqual([(svc.id, 'h1', C, 6, svc.id, False),
                          (keep.id, 'h2', C, CURRENT, 0, False)],
                         self._rows())
        self.assertIsNone(objects.Service.get_by_host_and_binary(
            self.context, 'h1', C))
        self.assertRaises(exception.ServiceNotFound,
                          objects.Service.get_by_id, self.context, svc.id)
        self.assertEqual(['h2'], [s.host for s in objects.Service.get_all(
            self.context)])
        self.assertEqual(CURRENT, self._min())
        # the same host and binary can register again, as a new row
        again = self._create('h1')
        self.assertNotEqual(svc.id, again.id)
        again.destroy()
        third = self._create('h1')
        self.assertEqual(
            [('h1', svc.id), ('h2', 0), ('h1', again.id), ('h1', 0)],
            [(r[1], r[4]) for r in self._rows()])
        self.assertEqual(
            [(svc.id, True), (again.id, True), (third.id, False),
             (keep.id, False)],
            [(s.id, s.deleted) for s in objects.Service.get_all(
                self.context, include_deleted=True)])

    def test_destroy_twice(self):
        svc = self._create('h1')
        svc.destroy()
        self.assertRaises(exception.ServiceNotFound, svc.destroy)

    # -- queries -----------------------------------------------------------

    def test_get_by_host_and_binary_missing(self):
        self._create('h1')
        self.assertIsNone(objects.Service.get_by_host_and_binary(
            self.context, 'h2', C))
        self.assertIsNone(objects.Service.get_by_host_and_binary(
            self.context, 'h1', D))

    def test_get_by_id_missing(self):
        self.assertRaises(exception.ServiceNotFound,
                          objects.Service.get_by_id, self.context, 12345)

    def test_get_all_filters(self):
        self._create('b', C)
        self._create('a', C, disabled=True, disabled_reason='x')
        self._create('a', D, forced_down=True)
        self._create('c', S)
        self._create('z', C).destroy()

        def hosts(**kw):
            return [(s.host, s.binary) for s in objects.Service.get_all(
                self.context, **kw)]

        self.assertEqual([('a', C), ('b', C), ('a', D), ('c', S)], hosts())
        self.assertEqual([('a', C), ('b', C)], hosts(binary=C))
        self.assertEqual([('a', C), ('a', D)], hosts(host='a'))
        self.assertEqual([('a', D)], hosts(host='a', binary=D))
        self.assertEqual([('a', C)], hosts(disabled=True))
        self.assertEqual([('b', C), ('a', D), ('c', S)],
                         hosts(disabled=False))
        self.assertEqual([('a', D)], hosts(forced_down=True))
        self.assertEqual([('a', C), ('b', C), ('c', S)],
                         hosts(forced_down=False))
        self.assertEqual([('a', C), ('b', C), ('z', C)],
                         hosts(binary=C, include_deleted=True))
        self.assertEqual([], hosts(host='nope'))

    def test_get_counted_older_than(self):
        # oldest first: each joins at or above the minimum of the others
        self._create('down', release='mitaka', forced_down=True)
        self._create('gone', release='mitaka').destroy()
        self._create('c', release='newton')
        self._create('b', release='newton')
        self._create('a', release='ocata')
        self._create('new')
        self._create('d1', D, release='liberty')
        self.assertEqual(
            [('b', C, 3), ('c', C, 3), ('a', C, 5)],
            self._summary(objects.Service.get_counted_older_than(
                self.context, C, 6)))
        self.assertEqual(
            [('b', C, 3), ('c', C, 3)],
            self._summary(objects.Service.get_counted_older_than(
                self.context, C, 5)))
        self.assertEqual([], objects.Service.get_counted_older_than(
            self.context, C, 3))
        self.assertEqual([], objects.Service.get_counted_older_than(
            self.context, S, CURRENT))

    # -- fixtures ----------------------------------------------------------

    def test_all_services_current_fixture(self):
        self._create('old', release='newton')
        self.assertEqual(3, self._min())
        with nv_fixtures.AllServicesCurrent():
            self.sql.reset()
            self.assertEqual(CURRENT, self._min())
            self.assertEqual(CURRENT, self._min(S))
            self.assertEqual(
                {C: CURRENT, D: CURRENT},
                objects.Service.get_minimum_versions(self.context, [C, D]))
            self.assertEqual(CURRENT,
                             objects.Service.get_minimum_version_multi(
                                 self.context, [C, D]))
            self.assertEqual([], self.sql.minimum_queries())
            with nv_fixtures.OlderRelease('pike'):
                self.assertEqual(6, self._min())
        self.assertEqual(3, self._min())

    def test_older_release_fixture(self):
        with nv_fixtures.OlderRelease('ocata') as fix:
            self.assertEqual(5, fix.service_version)
            svc = self._create('h1')
        self.assertEqual(5, svc.version)
        self.assertIsNone(self.conf.versioning.emulated_release)
        with nv_fixtures.OlderRelease(4):
            self.assertEqual(4, self._create('h2', D).version)

    def test_older_release_fixture_bad_release(self):
        fix = nv_fixtures.OlderRelease('grizzly')
        exc = self.assertRaises(testtools.MultipleExceptions, fix.setUp)
        self.assertIsInstance(exc.args[0][1], exception.InvalidRelease)
        self.assertIn('[versioning]/emulated_release', str(exc.args[0][1]))
        self.assertIsNone(self.conf.versioning.emulated_release)


class SchemaTestsMixin(test_migrations.ModelsMigrationsSync):
    """The migrations build exactly the models, with the min index."""

    def get_engine(self):
        return self.db.engine

    def get_metadata(self):
        return models.BASE.metadata

    def db_sync(self, engine):
        migration.db_sync(engine=engine)

    def include_object(self, object_, name, type_, reflected, compare_to):
        # The project's alembic version table is not a model.
        return not (type_ == 'table' and name == migration.VERSION_TABLE)

    def test_at_head(self):
        self.assertEqual(migration.head_version(),
                         migration.db_version(engine=self.db.engine))

    def test_min_version_index(self):
        indexes = {i['name']: i for i in
                   sa.inspect(self.db.engine).get_indexes('services')}
        self.assertIn(models.MIN_VERSION_INDEX, indexes)
        index = indexes[models.MIN_VERSION_INDEX]
        self.assertEqual(['binary', 'deleted', 'forced_down', 'version'],
                         index['column_names'])
        self.assertFalse(index['unique'])

    def test_unique_host_binary_deleted(self):
        inspector = sa.inspect(self.db.engine)
        uniques = {tuple(u['column_names'])
                   for u in inspector.get_unique_constraints('services')}
        uniques |= {tuple(i['column_names'])
                    for i in inspector.get_indexes('services')
                    if i['unique']}
        self.assertIn(('host', 'binary', 'deleted'), uniques)
        self.assertIn(('uuid',), uniques)


class ServiceSQLiteTestCase(ServiceDBTestsMixin, base.DBTestCase):
    pass


class SchemaSQLiteTestCase(SchemaTestsMixin, base.DBTestCase):

    def test_min_version_query_uses_index(self):
        with self.db.engine.connect() as conn:
            stmt = sa.select(sa.func.min(models.Service.version)).where(
                models.Service.binary == C, models.Service.deleted == 0,
                models.Service.forced_down == sa.false())
            compiled = stmt.compile(self.db.engine,
                                    compile_kwargs={'literal_binds': True})
            plan = ' '.join(str(r[-1]) for r in conn.exec_driver_sql(
                'EXPLAIN QUERY PLAN %s' % compiled))
        self.assertIn(models.MIN_VERSION_INDEX, plan)


class ServiceObjectTestCase(base.TestCase):
    """Without a database."""

    def test_too_old_message_names_releases(self):
        exc = exception.ServiceTooOld(
            thisver=5, minver=7, host='old-host', binary=C,
            history=history.default_history())
        self.assertEqual(
            'Service nova-compute on host old-host is version 5 (ocata), '
            'older than the minimum version 7 (queens) of the other '
            'nova-compute services: refusing to register it, nothing was '
            'written. Upgrade old-host to version 7 (queens) or newer; or, '
            'if the newer nova-compute services are gone for good, delete '
            'or force down their records so they stop counting toward the '
            'minimum.', str(exc))
        self.assertEqual((5, 7), (exc.thisver, exc.minver))

    def test_too_old_legacy_message(self):
        exc = exception.ServiceTooOld(thisver=5, minver=7)
        self.assertEqual(
            'This service is older (v5) than the minimum (v7) version of '
            'the rest of the deployment. Unable to continue.', str(exc))

    def test_repr(self):
        self.assertEqual('Service(host=h1, binary=nova-compute, version=None)',
                         repr(objects.Service(host='h1', binary=C)))

    def test_validate_binary_good(self):
        for good in (C, D, 'nova-cell-v2', 'nova-a_b', 'nova-0'):
            service_obj.validate_binary(good)

    def test_validate_binary_bad(self):
        for bad in BAD_BINARIES:
            self.assertRaises(exception.InvalidBinary,
                              service_obj.validate_binary, bad)
