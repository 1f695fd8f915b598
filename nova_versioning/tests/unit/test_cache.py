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
"""MinimumVersionCache with a fake clock and a fake loader."""

import threading

import fixtures

from nova_versioning import cache
from nova_versioning.tests import base
from nova_versioning.tests import utils

C = 'nova-compute'
D = 'nova-conductor'
S = 'nova-scheduler'


class FakeClock(object):
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


class FakeLoader(object):
    """Answers from ``values``; records every call."""

    def __init__(self, values):
        self.values = dict(values)
        self.calls = []

    def __call__(self, binaries):
        self.calls.append(list(binaries))
        return {b: self.values[b] for b in binaries if b in self.values}


class TestMinimumVersionCache(base.TestCase):

    def setUp(self):
        super().setUp()
        self.clock = FakeClock()
        self.ttl = 30
        self.cache = cache.MinimumVersionCache(lambda: self.ttl,
                                               clock=self.clock)
        self.loader = FakeLoader({C: 5, D: 7})

    def test_hit(self):
        self.assertEqual(5, self.cache.get(C, self.loader))
        self.assertEqual(5, self.cache.get(C, self.loader))
        self.assertEqual([[C]], self.loader.calls)
        self.assertEqual(1, self.cache.loads)
        self.assertEqual(5, self.cache.peek(C))

    def test_miss_loads_only_missing(self):
        self.cache.get(C, self.loader)
        self.assertEqual({C: 5, D: 7},
                         self.cache.get_multi([C, D, C], self.loader))
        self.assertEqual([[C], [D]], self.loader.calls)

    def test_multi_one_load(self):
        self.assertEqual({D: 7, C: 5, S: 0},
                         self.cache.get_multi([D, C, S], self.loader))
        self.assertEqual([[D, C, S]], self.loader.calls)

    def test_ttl_expiry(self):
        self.cache.get(C, self.loader)
        self.clock.now += 29.999
        self.cache.get(C, self.loader)
        self.assertEqual(1, len(self.loader.calls))
        self.clock.now += 0.001
        self.assertIsNone(self.cache.peek(C))
        self.loader.values[C] = 6
        self.assertEqual(6, self.cache.get(C, self.loader))
        self.assertEqual(2, len(self.loader.calls))
        # the new answer is cached for a full TTL from the reload
        self.clock.now += 29
        self.assertEqual(6, self.cache.get(C, self.loader))
        self.assertEqual(2, len(self.loader.calls))

    def test_ttl_read_on_every_lookup(self):
        self.ttl = 5
        self.cache.get(C, self.loader)
        self.clock.now += 6
        self.cache.get(C, self.loader)
        self.assertEqual(2, len(self.loader.calls))
        self.ttl = 60
        self.cache.get(C, self.loader)
        self.clock.now += 59
        self.cache.get(C, self.loader)
        self.assertEqual(3, len(self.loader.calls))

    def test_clear(self):
        self.cache.get_multi([C, D], self.loader)
        self.cache.clear()
        self.assertIsNone(self.cache.peek(C))
        self.assertIsNone(self.cache.peek(D))
        self.loader.values[C] = 6
        self.assertEqual(6, self.cache.get(C, self.loader))
        self.assertEqual([[C, D], [C]], self.loader.calls)

    def test_forget(self):
        self.cache.get_multi([C, D], self.loader)
        self.cache.forget(C)
        self.assertIsNone(self.cache.peek(C))
        self.assertEqual(7, self.cache.peek(D))
        self.cache.get_multi([C, D], self.loader)
        self.assertEqual([[C, D], [C]], self.loader.calls)

    def test_forget_unknown_is_noop(self):
        self.cache.forget(S)
        self.assertIsNone(self.cache.peek(S))

    def test_ttl_zero_never_caches(self):
        self.ttl = 0
        for _ in range(3):
            self.assertEqual(5, self.cache.get(C, self.loader))
        self.assertEqual(3, len(self.loader.calls))
        self.assertIsNone(self.cache.peek(C))

    def test_zero_never_cached(self):
        self.loader.values[S] = 0
        self.assertEqual(0, self.cache.get(S, self.loader))
        self.assertIsNone(self.cache.peek(S))
        self.loader.values[S] = 7
        self.assertEqual(7, self.cache.get(S, self.loader))
        self.assertEqual([[S], [S]], self.loader.calls)

    def test_missing_from_answer_is_zero_and_not_cached(self):
        self.assertEqual(0, self.cache.get('nova-api', self.loader))
        self.assertIsNone(self.cache.peek('nova-api'))
        self.assertEqual(0, self.cache.get('nova-api', self.loader))
        self.assertEqual(2, len(self.loader.calls))

    def test_values_coerced_to_int(self):
        self.loader.values[C] = '5'
        self.assertEqual(5, self.cache.get(C, self.loader))
        self.assertEqual(5, self.cache.peek(C))

    def test_loader_error_nothing_cached(self):
        def boom(binaries):
            raise ValueError('db down')

        exc = self.assertRaises(ValueError, self.cache.get, C, boom)
        self.assertEqual('db down', str(exc))
        self.assertIsNone(self.cache.peek(C))
        # no flight left behind: the next caller loads at once
        self.assertEqual(5, self.cache.get(C, self.loader))
        self.assertEqual(1, len(self.loader.calls))

    def test_fresh_skips_the_cached_answer_and_replaces_it(self):
        self.assertEqual(5, self.cache.get(C, self.loader))
        self.loader.values[C] = 7
        self.assertEqual(5, self.cache.get(C, self.loader))
        self.assertEqual(7, self.cache.get(C, self.loader, fresh=True))
        self.assertEqual([[C], [C]], self.loader.calls)
        # The fresh answer is cached for the TTL, as any other.
        self.assertEqual(7, self.cache.peek(C))
        self.assertEqual(7, self.cache.get(C, self.loader))
        self.assertEqual(2, len(self.loader.calls))

    def test_fresh_multi_reads_every_binary_in_one_query(self):
        self.cache.get(C, self.loader)
        self.assertEqual({C: 5, D: 7},
                         self.cache.get_multi([C, D], self.loader,
                                              fresh=True))
        self.assertEqual([[C], [C, D]], self.loader.calls)

    def test_fresh_finding_none_drops_the_cached_answer(self):
        self.cache.get(C, self.loader)
        del self.loader.values[C]
        self.assertEqual(0, self.cache.get(C, self.loader, fresh=True))
        self.assertIsNone(self.cache.peek(C))
        self.assertEqual(0, self.cache.get(C, self.loader))


class TestMinimumVersionCacheConcurrency(base.TestCase):

    THREADS = 32

    def setUp(self):
        super().setUp()
        # A lost wake-up must fail the test, not hang the run.
        self.useFixture(fixtures.Timeout(60, gentle=True))
        self.waiters = self.useFixture(utils.FlightWaiters())
        self.cache = cache.MinimumVersionCache(lambda: 30,
                                               clock=FakeClock())

    def _run_threads(self, target, count):
        results = [None] * count
        start = threading.Barrier(count)

        def run(i):
            start.wait(timeout=10)
            try:
                results[i] = ('ok', target())
            except Exception as exc:
                results[i] = ('error', exc)

        threads = [threading.Thread(target=run, args=(i,), daemon=True)
                   for i in range(count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
            self.assertFalse(t.is_alive())
        return results

    def test_single_flight_32_threads(self):
        calls = []

        def load(binaries):
            calls.append(list(binaries))
            # Answer only once every other caller is waiting on this load.
            self.assertTrue(self.waiters.wait_for(self.THREADS - 1))
            return {C: 6}

        results = self._run_threads(lambda: self.cache.get(C, load),
                                    self.THREADS)
        self.assertEqual([('ok', 6)] * self.THREADS, results)
        self.assertEqual([[C]], calls)
        self.assertEqual(1, self.cache.loads)
        self.assertEqual(6, self.cache.peek(C))

    def test_fresh_reads_share_one_query(self):
        cached = self.cache.get(C, lambda b: {C: 5})
        self.assertEqual(5, cached)
        calls = []

        def load(binaries):
            calls.append(list(binaries))
            self.assertTrue(self.waiters.wait_for(self.THREADS - 1))
            return {C: 7}

        results = self._run_threads(
            lambda: self.cache.get(C, load, fresh=True), self.THREADS)
        # None got the cached 5; one query answered them all.
        self.assertEqual([('ok', 7)] * self.THREADS, results)
        self.assertEqual([[C]], calls)
        self.assertEqual(7, self.cache.peek(C))

    def test_error_propagates_to_all_waiters(self):
        calls = []
        error = RuntimeError('connection lost')

        def load(binaries):
            calls.append(list(binaries))
            self.assertTrue(self.waiters.wait_for(self.THREADS - 1))
            raise error

        results = self._run_threads(lambda: self.cache.get(C, load),
                                    self.THREADS)
        self.assertEqual([('error', error)] * self.THREADS, results)
        self.assertEqual(1, len(calls))
        self.assertIsNone(self.cache.peek(C))
        self.assertEqual(4, self.cache.get(C, lambda b: {C: 4}))

    def test_clear_during_load_does_not_cache_stale(self):
        loading = threading.Event()
        release = threading.Event()
        answers = iter([5, 7])

        def load(binaries):
            value = next(answers)
            if value == 5:
                loading.set()
                self.assertTrue(release.wait(10))
            return {C: value}

        results = []
        t = threading.Thread(
            target=lambda: results.append(self.cache.get(C, load)),
            daemon=True)
        t.start()
        self.assertTrue(loading.wait(10))
        self.cache.clear()
        # A caller arriving after the clear does not join the stale load.
        self.assertEqual(7, self.cache.get(C, load))
        release.set()
        t.join(10)
        self.assertFalse(t.is_alive())
        # The caller of the stale load gets its answer...
        self.assertEqual([5], results)
        # ...but the fresh one stays cached.
        self.assertEqual(7, self.cache.peek(C))
        self.assertEqual(2, self.cache.loads)

    def test_clear_during_load_caches_nothing(self):
        loading = threading.Event()
        release = threading.Event()

        def load(binaries):
            loading.set()
            self.assertTrue(release.wait(10))
            return {C: 5}

        results = []
        t = threading.Thread(
            target=lambda: results.append(self.cache.get(C, load)),
            daemon=True)
        t.start()
        self.assertTrue(loading.wait(10))
        self.cache.clear()
        release.set()
        t.join(10)
        self.assertEqual([5], results)
        self.assertIsNone(self.cache.peek(C))

    def test_forget_during_load_caches_nothing(self):
        loading = threading.Event()
        release = threading.Event()

        def load(binaries):
            loading.set()
            self.assertTrue(release.wait(10))
            return {C: 5, D: 7}

        t = threading.Thread(target=self.cache.get_multi,
                             args=([C, D], load), daemon=True)
        t.start()
        self.assertTrue(loading.wait(10))
        self.cache.forget(C)
        release.set()
        t.join(10)
        self.assertIsNone(self.cache.peek(C))
        self.assertEqual(7, self.cache.peek(D))


class TestMinimumVersionCacheScope(base.TestCase):
    """Answers read under different scopes (stale timeouts) never mix."""

    def setUp(self):
        super().setUp()
        self.clock = FakeClock()
        self.cache = cache.MinimumVersionCache(lambda: 30, clock=self.clock)

    def test_new_scope_forgets_cached_answers(self):
        off = FakeLoader({C: 5})
        on = FakeLoader({C: 6})
        self.assertEqual(5, self.cache.get(C, off, scope=0))
        self.assertEqual(5, self.cache.get(C, off, scope=0))
        self.assertEqual(6, self.cache.get(C, on, scope=600))
        self.assertEqual(6, self.cache.get(C, on, scope=600))
        self.assertEqual(5, self.cache.get(C, off, scope=0))
        self.assertEqual([[C], [C]], off.calls)
        self.assertEqual([[C]], on.calls)

    def test_answer_of_the_old_scope_in_flight_is_not_cached(self):
        on = FakeLoader({C: 6})

        def off(binaries):
            # The timeout changes while this query runs.
            self.assertEqual(6, self.cache.get(C, on, scope=600))
            return {C: 5}

        self.assertEqual(5, self.cache.get(C, off, scope=0))
        self.assertEqual(6, self.cache.get(C, on, scope=600))
        self.assertEqual([[C]], on.calls)


class TestSeed(base.TestCase):
    """seed(): the first record of a binary, registered by this process."""

    def setUp(self):
        super().setUp()
        self.clock = FakeClock()
        self.ttl = 30
        self.cache = cache.MinimumVersionCache(lambda: self.ttl,
                                               clock=self.clock)

    def test_seed_answers_without_a_load(self):
        loader = FakeLoader({C: 0})
        self.assertEqual(0, self.cache.get(C, loader))
        generation = self.cache.generation
        self.cache.seed(C, 6, generation)
        loader.values[C] = 6
        self.assertEqual(6, self.cache.get(C, loader))
        self.assertEqual([[C]], loader.calls)

    def test_seed_expires_with_the_ttl(self):
        loader = FakeLoader({C: 5})
        self.cache.seed(C, 6, self.cache.generation)
        self.clock.now += 29.9
        self.assertEqual(6, self.cache.get(C, loader))
        self.clock.now += 0.1
        self.assertEqual(5, self.cache.get(C, loader))
        self.assertEqual([[C]], loader.calls)

    def test_seed_is_dropped_after_clear_forget_or_new_scope(self):
        for invalidate in (self.cache.clear,
                           lambda: self.cache.forget(C),
                           lambda: self.cache.get(D, FakeLoader({D: 7}),
                                                  scope=60)):
            generation = self.cache.generation
            invalidate()
            self.cache.seed(C, 6, generation)
            self.assertIsNone(self.cache.peek(C))

    def test_no_seed_when_caching_is_off(self):
        self.ttl = 0
        self.cache.seed(C, 6, self.cache.generation)
        self.assertIsNone(self.cache.peek(C))

    def test_seed_never_raises_a_cached_minimum(self):
        self.assertEqual(5, self.cache.get(C, FakeLoader({C: 5})))
        self.cache.seed(C, 6, self.cache.generation)
        self.assertEqual(5, self.cache.peek(C))

    def test_lower_seed_lowers_it(self):
        # Two first registrations of this process, both admitted against
        # the same 0: the lower version is the minimum.
        generation = self.cache.generation
        self.cache.seed(C, 7, generation)
        self.cache.seed(C, 6, generation)
        self.assertEqual(6, self.cache.peek(C))

    def test_load_landing_after_a_seed_keeps_the_lower(self):
        # The query ran before the seeded record committed and missed it.
        def load(binaries):
            self.cache.seed(C, 6, self.cache.generation)
            return {C: 7}

        self.assertEqual(7, self.cache.get(C, load))
        self.assertEqual(6, self.cache.peek(C))

    def test_load_landing_after_a_seed_may_lower_it(self):
        def load(binaries):
            self.cache.seed(C, 6, self.cache.generation)
            return {C: 5}

        self.assertEqual(5, self.cache.get(C, load))
        self.assertEqual(5, self.cache.peek(C))

    def test_fresh_load_replaces_an_older_entry_but_keeps_a_new_seed(self):
        self.cache.get(C, lambda binaries: {C: 5})
        # A fresh read sees the upgrade past the cached 5 ...
        self.assertEqual(7, self.cache.get(C, lambda binaries: {C: 7},
                                           fresh=True))
        self.assertEqual(7, self.cache.peek(C))

        # ... and a record seeded while it ran still counts.
        def load(binaries):
            self.cache.seed(C, 6, self.cache.generation)
            return {C: 8}

        self.assertEqual(8, self.cache.get(C, load, fresh=True))
        self.assertEqual(6, self.cache.peek(C))

    def test_zero_answer_landing_after_a_seed_keeps_the_seed(self):
        def load(binaries):
            self.cache.seed(C, 6, self.cache.generation)
            return {C: 0}

        self.assertEqual(0, self.cache.get(C, load))
        self.assertEqual(6, self.cache.peek(C))
