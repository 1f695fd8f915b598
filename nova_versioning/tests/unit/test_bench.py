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
"""The benchmark runner, in its tiny in-process mode on SQLite.

Only what the run writes is checked (files, tables, columns, query
counts); never a timing.
"""

import gc
import json
import os

import fixtures

from nova_versioning.bench import common
from nova_versioning.bench import nova_real
from nova_versioning.bench import report
from nova_versioning.bench import runner
from nova_versioning.bench import sendpath
from nova_versioning.tests import base


class TestBenchRunner(base.TestCase):

    def setUp(self):
        super().setUp()
        self.out = self.useFixture(fixtures.TempDir()).path
        self.results = runner.run(
            runner.PROFILES['tiny'], only=['lookup', 'heartbeat'],
            backends=['sqlite'], output_dir=self.out, probe_broker=False)

    def _json(self):
        with open(os.path.join(self.out, 'results.json')) as f:
            return json.load(f)

    def test_json_rows_have_the_columns(self):
        results = self._json()
        self.assertEqual(['lookup', 'heartbeat'],
                         [f['name'] for f in results['figures']])
        for figure in results['figures']:
            self.assertEqual([], figure['errors'])
            self.assertTrue(figure['rows'])
            for row in figure['rows']:
                self.assertLessEqual(set(report.ROW_KEYS), set(row))
        for key in ('date', 'cpu', 'cores', 'memory', 'python', 'packages',
                    'servers'):
            self.assertIn(key, results['machine'])
        self.assertIn('sqlite', results['machine']['servers'])

    def test_lookup_rows_and_plans(self):
        lookup = self._json()['figures'][0]
        self.assertEqual({'sqlite'}, {r['backend'] for r in lookup['rows']})
        self.assertEqual({200}, {r['rows'] for r in lookup['rows']})
        variants = set()
        for row in lookup['rows']:
            self.assertGreater(row['ours'], 0)
            self.assertGreater(row['baseline'], 0)
            variants.add(row['variant'])
            if row['variant'] in ('public_public', 'public_cached'):
                # Judged at 1k rows and below (uncached), always (cached);
                # without Nova installed, against the re-implementation.
                self.assertIn(row['met'], (True, False))
                self.assertEqual('reimplementation', row['baseline_kind'])
            else:
                # Below 100k rows the other targets are not judged.
                self.assertIsNone(row['met'])
        self.assertLessEqual({'ours', 'ours_api', 'public_public',
                              'public_cached'}, variants)
        plans = lookup['details']['plans']['sqlite']['200']
        self.assertIn('services_binary_deleted_forced_down_version_idx',
                      '\n'.join(plans['ours']['plan']))
        self.assertIn('GROUP BY', plans['nova']['sql'])

    def test_heartbeat_reads_no_minimum(self):
        heartbeat = self._json()['figures'][1]
        queries = heartbeat['rows'][0]
        self.assertEqual('SQLite: minimum-version SELECTs per heartbeat',
                         queries['case'])
        self.assertEqual((0, 1), (queries['ours'], queries['baseline']))
        self.assertIs(True, queries['met'])

    def test_markdown_has_a_table_per_figure(self):
        with open(os.path.join(self.out, 'results.md')) as f:
            text = f.read()
        header = '| %s |' % ' | '.join(report.COLUMNS)
        self.assertEqual(2, text.count(header))
        self.assertIn('## Minimum-version lookup', text)
        self.assertIn('## Heartbeat save()', text)
        self.assertIn('## Machine', text)
        self.assertIn('| SQLite: minimum-version SELECTs per heartbeat | 0 |',
                      text)


class TestInterleave(base.TestCase):

    def test_batches_are_read_on_the_clock_given(self):
        ticks = []

        def clock():
            ticks.append(len(ticks))
            return float(len(ticks))

        calls = []
        variants = [(name, lambda name=name: calls.append(name))
                    for name in ('a', 'b')]
        samples = common.interleave_batches(variants, 3, 4, clock=clock)
        # One warm-up of each, then three repetitions, rotating who goes
        # first; each call read on the clock before and after.
        self.assertEqual(['a', 'b', 'a', 'b', 'b', 'a', 'a', 'b'], calls)
        self.assertEqual(12, len(ticks))
        self.assertEqual({'a': [0.25] * 3, 'b': [0.25] * 3}, samples)

    def test_batches_are_timed_with_the_collector_paused(self):
        self.addCleanup(gc.enable)
        seen = []
        variants = [(name, lambda: seen.append(gc.isenabled()))
                    for name in ('a', 'b')]
        common.interleave_batches(variants, 2, 1)
        # The warm-up runs as the process is; every timed batch with the
        # collector off, and the collector is on again afterwards.
        self.assertEqual([True, True, False, False, False, False], seen)
        self.assertTrue(gc.isenabled())

    def test_a_paused_collector_stays_off_when_it_was_off(self):
        self.addCleanup(gc.enable)
        gc.disable()
        with common.collector_paused():
            self.assertFalse(gc.isenabled())
        self.assertFalse(gc.isenabled())

    def test_local_timer_pauses_the_collector(self):
        self.addCleanup(gc.enable)
        timer = nova_real.local_timer(gc.isenabled, inner=3)
        self.assertEqual(2, len(timer(2)))
        self.assertIs(False, timer.last)
        self.assertTrue(gc.isenabled())

    def test_the_sendpath_clocks(self):
        self.assertIs(common.CPU_CLOCK, sendpath.CLOCKS['fake'][0])
        self.assertIsNot(common.CPU_CLOCK, sendpath.CLOCKS['rabbit'][0])
