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
"""RPCService reload: pins resolved again at start, on reset and on a timer.

On fake:// with the services schema on SQLite. The conductor sends to the
computes (compute pin) and the scheduler (scheduler pin); a nova-compute
record of release pike (service version 6, compute RPC 6.4) holds the
compute pin down.
"""

import logging
import os
import signal
import threading
import time
from unittest import mock

import fixtures
from oslo_db import exception as db_exc

from nova_versioning.conf import lastgood
from nova_versioning.db import api as db_api
from nova_versioning import exception
from nova_versioning import objects
from nova_versioning.objects import service as service_obj
from nova_versioning.rpc import pinning
from nova_versioning.rpc import pinstore
from nova_versioning.tests.unit.rpc import fakes
from nova_versioning.tests.unit import test_service

DB_GONE = 'nova_versioning.db.api.service_get_minimum_version'


class _Records(logging.Handler):
    """Every record logged under nova_versioning, in order."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)

    def at(self, level):
        return [(r.name, r.getMessage()) for r in self.records
                if r.levelno == level]

    def messages(self):
        return [r.getMessage() for r in self.records]


class _ReloadTestCase(test_service._ServiceTestCase):

    def setUp(self):
        super().setUp()
        # FakeLogger replaces the handlers of its logger: add ours after.
        self.useFixture(fixtures.FakeLogger(name='nova_versioning',
                                            level=logging.INFO))
        self.records = _Records()
        logger = logging.getLogger('nova_versioning')
        logger.addHandler(self.records)
        self.addCleanup(logger.removeHandler, self.records)
        self.flags(group='upgrade_levels', compute='auto')
        self.pike = self.record('c2', release='pike')

    def started_conductor(self):
        svc = self.conductor()
        svc.prepare()
        return self.start(svc)

    def caps(self, svc):
        """{api: (decision cap, cap of the client it sends with)}."""
        return {name: (decision.cap,
                       svc.manager.client_apis[name].client.version_cap)
                for name, decision in svc.apis.decisions()}

    def store(self):
        return pinstore.PinStore(self.conf.state_path, 'nova-conductor',
                                 'cond1')

    def stored_caps(self):
        return {api: decision.cap
                for api, decision in self.store().load().items()}

    def upgrade_behind_the_cache(self, host):
        # Another process upgrades the record: this process's cache is not
        # told (only its own writes forget the binary).
        record = objects.Service.get_by_host_and_binary(
            self.context, host, 'nova-compute')
        db_api.service_update(self.context, record.id, {'version': 7})

    def db_gone(self):
        return mock.patch(DB_GONE, side_effect=db_exc.DBConnectionError(
            'database is gone'))


class TestStart(_ReloadTestCase):

    def test_resolves_every_pin_and_records_them(self):
        svc = self.started_conductor()
        self.assertEqual({'compute': ('6.4', '6.4'),
                          'scheduler': ('2.2', '2.2')}, self.caps(svc))
        self.assertEqual({'compute': '6.4', 'scheduler': '2.2'},
                         self.stored_caps())
        self.assertEqual([], self.records.at(logging.ERROR))

    def test_prepare_records_the_first_pins(self):
        self.conductor().prepare()
        self.assertEqual({'compute': '6.4', 'scheduler': '2.2'},
                         self.stored_caps())

    def test_adopts_the_pin_file_before_resolving(self):
        svc = self.conductor()
        svc.prepare()
        # What an earlier worker left: only compute, at another cap.
        os.unlink(self.store().path)
        self.store().save({'compute': pinning.PinDecision(
            api='compute', configured='auto', cap='6.2', source='auto',
            minimum_version=3, hosts=('c2',), binary='nova-compute')})
        self.start(svc)
        messages = self.records.messages()
        self.assertIn('compute RPC version cap changed from 6.2 to 6.4',
                      messages)
        # Not in the file: a first decision, logged by its decision line.
        self.assertIn('scheduler RPC version cap 2.2 (not pinned: the '
                      'latest version)', messages)
        self.assertNotIn('scheduler RPC version cap set to 2.2', messages)
        self.assertEqual({'compute': ('6.4', '6.4'),
                          'scheduler': ('2.2', '2.2')}, self.caps(svc))
        self.assertEqual({'compute': '6.4', 'scheduler': '2.2'},
                         self.stored_caps())

    def test_one_decision_line_per_pin_at_start(self):
        self.started_conductor()
        messages = self.records.messages()
        for api, line in (
                ('compute', 'Automatically selected compute RPC version 6.4 '
                            'from minimum service version 6; held by: c2; '
                            'objects as of service version 6: Task 1.1, '
                            'TaskList 1.1, TaskResources 1.0'),
                ('scheduler', 'scheduler RPC version cap 2.2 (not pinned: '
                              'the latest version)')):
            self.assertEqual(
                [line], [m for m in messages if '%s RPC version' % api in m])

    def test_unchanged_against_the_pin_file(self):
        self.started_conductor().stop()
        self.records.records[:] = []
        # The respawned worker of a threading reload: the launching
        # process's mutate hook marked the reload before forking it.
        svc = self.conductor()
        svc.prepare()
        self.records.records[:] = []
        svc._config_mutated(svc.conf, {})
        self.start(svc)
        messages = self.records.messages()
        self.assertIn('compute RPC version cap unchanged at 6.4', messages)
        self.assertIn('scheduler RPC version cap unchanged at 2.2', messages)

    def test_failed_resolution_serves_with_the_pin_file(self):
        self.started_conductor().stop()
        self.records.records[:] = []
        self.upgrade_behind_the_cache('c2')
        svc = self.conductor()
        svc.prepare()
        with self.db_gone():
            self.start(svc)
        self.assertEqual({'compute': ('6.4', '6.4'),
                          'scheduler': ('2.2', '2.2')}, self.caps(svc))
        self.assertEqual(
            [('nova_versioning.service',
              'Pin resolution on start failed; keeping the last good pins '
              '(compute=6.4, scheduler=2.2), still serving. Fix the cause '
              'and send SIGHUP to retry. Could not resolve the RPC version '
              'cap of compute (DBConnectionError: database is gone): each '
              'of them keeps its previous cap.')],
            self.records.at(logging.ERROR))
        # Still serving: a compute pin of the file, not the latest.
        self.assertEqual({'compute': '6.4', 'scheduler': '2.2'},
                         self.stored_caps())

    def test_reload_worker_serves_before_resolving(self):
        svc = self.conductor()
        svc.prepare()
        # The worker a threading reload starts: the launching process
        # re-read its files (mutate hook), and the worker lost its record.
        svc._config_mutated(self.conf, {})
        svc.record = None
        self.records.records[:] = []
        with self.db_gone(), mock.patch(
                'nova_versioning.db.api.service_get_by_host_and_binary',
                side_effect=db_exc.DBConnectionError('database is gone')):
            self.start(svc)
        messages = self.records.messages()
        serving = [i for i, m in enumerate(messages)
                   if m.startswith('nova-conductor on cond1 serving')]
        failed = [i for i, m in enumerate(messages)
                  if m.startswith('Pin resolution on start failed')]
        self.assertEqual(1, len(serving), messages)
        self.assertEqual(1, len(failed), messages)
        self.assertLess(serving[0], failed[0])
        self.assertIn('Could not read the record of nova-conductor on cond1: '
                      'database is gone; still serving, the heartbeat tries '
                      'again', messages)
        self.assertIsNone(svc.record)
        self.assertEqual({'compute': ('6.4', '6.4'),
                          'scheduler': ('2.2', '2.2')}, self.caps(svc))
        # The database is back: the heartbeat finds the record.
        svc._report_state()
        self.assertEqual(('cond1', 1), (svc.record.host,
                                        svc.record.report_count))

    def test_first_worker_resolves_before_serving(self):
        svc = self.conductor()
        svc.prepare()
        order = []
        resolve_pins = svc.resolve_pins
        serve = svc._serve

        def resolving(*args, **kwargs):
            order.append('resolve')
            return resolve_pins(*args, **kwargs)

        def serving():
            order.append('serve')
            return serve()

        svc.resolve_pins = resolving
        svc._serve = serving
        self.start(svc)
        self.assertEqual(['resolve', 'serve'], order[:2])

    def test_fails_without_a_previous_pin(self):
        svc = self.conductor()
        svc.prepare()
        self.addCleanup(svc.stop)
        # prepare() recorded pins; without them there is nothing to keep.
        os.unlink(self.store().path)
        with self.db_gone():
            exc = self.assertRaises(exception.PinResolutionFailed, svc.start)
        self.assertEqual(['compute'], [name for name, _e in exc.failures])
        self.assertEqual([('scheduler', None, '2.2')],
                         [(name, old, new.cap)
                          for name, old, new in exc.changes])
        self.assertIsNone(svc.apis.decisions()[0][1])
        # The file holds only good pins: scheduler's, not compute's.
        self.assertEqual({'scheduler': '2.2'}, self.stored_caps())


class TestResolvePins(_ReloadTestCase):

    def test_all_resolved(self):
        svc = self.started_conductor()
        self.assertIs(True, svc.resolve_pins('test'))

    def test_one_api_failing_keeps_its_last_good_cap(self):
        svc = self.started_conductor()
        self.flags(group='upgrade_levels', scheduler='ocata')
        self.records.records[:] = []
        objects.Service.clear_min_version_cache()
        with self.db_gone():
            self.assertIs(False, svc.resolve_pins('SIGHUP'))
        self.assertEqual(
            [('nova_versioning.service',
              'Pin resolution on SIGHUP failed; keeping the last good pins '
              '(compute=6.4, scheduler=2.1), still serving. Fix the cause '
              'and send SIGHUP to retry. Could not resolve the RPC version '
              'cap of compute (DBConnectionError: database is gone): each '
              'of them keeps its previous cap.')],
            self.records.at(logging.ERROR))
        # The scheduler pin, which could be decided, moved.
        self.assertIn('scheduler RPC version cap changed from 2.2 to 2.1',
                      self.records.messages())
        self.assertEqual({'compute': ('6.4', '6.4'),
                          'scheduler': ('2.1', '2.1')}, self.caps(svc))
        self.assertEqual({'compute': '6.4', 'scheduler': '2.1'},
                         self.stored_caps())

    def test_next_attempt_applies_the_new_pins(self):
        svc = self.started_conductor()
        self.upgrade_behind_the_cache('c2')
        objects.Service.clear_min_version_cache()
        with self.db_gone():
            self.assertIs(False, svc.resolve_pins('SIGHUP'))
        self.assertIs(True, svc.resolve_pins('SIGHUP'))
        self.assertEqual({'compute': ('6.5', '6.5'),
                          'scheduler': ('2.2', '2.2')}, self.caps(svc))
        self.assertIn('compute RPC version cap changed from 6.4 to 6.5',
                      self.records.messages())


class TestReset(_ReloadTestCase):

    def test_clears_the_cache_and_lifts_the_cap(self):
        svc = self.started_conductor()
        self.upgrade_behind_the_cache('c2')
        # Without a reset the cached minimum still answers.
        self.assertIs(True, svc.resolve_pins('test'))
        self.assertEqual(('6.4', '6.4'), self.caps(svc)['compute'])
        self.records.records[:] = []
        svc.reset()
        self.assertEqual({'compute': ('6.5', '6.5'),
                          'scheduler': ('2.2', '2.2')}, self.caps(svc))
        messages = self.records.messages()
        self.assertEqual('Reloading: re-resolving every RPC version pin',
                         messages[0])
        self.assertIn('Automatically selected compute RPC version 6.5 from '
                      'minimum service version 7 (the latest version)',
                      messages)
        self.assertIn('compute RPC version cap changed from 6.4 to 6.5',
                      messages)
        self.assertIn('scheduler RPC version cap unchanged at 2.2', messages)
        self.assertEqual(7, service_obj.MIN_VERSION_CACHE.peek(
            'nova-compute'))
        self.assertEqual({'compute': '6.5', 'scheduler': '2.2'},
                         self.stored_caps())

    def test_sighup_during_the_reload_reloads_again(self):
        svc = self.started_conductor()
        # What oslo.service's eventlet launcher leaves while it handles a
        # SIGHUP is the default action, which ends the process: stand in
        # for it with a handler that records being reached.
        reached = []
        previous = signal.signal(signal.SIGHUP,
                                 lambda signo, frame: reached.append(signo))
        self.addCleanup(signal.signal, signal.SIGHUP, previous)
        handler = signal.getsignal(signal.SIGHUP)
        reasons = []
        resolve_pins = svc.resolve_pins

        def resolve(reason, fresh=False):
            reasons.append(reason)
            if len(reasons) == 1:
                # The operator's second SIGHUP, during the first reload.
                os.kill(os.getpid(), signal.SIGHUP)
                self.flags(group='upgrade_levels', compute='6.2')
            return resolve_pins(reason, fresh=fresh)

        self.records.records[:] = []
        with mock.patch.object(svc, 'resolve_pins', side_effect=resolve), \
                mock.patch.object(svc.conf, 'mutate_config_files') as mutate:
            svc.reset()
        self.assertEqual([], reached)
        self.assertEqual(['SIGHUP', 'SIGHUP'], reasons)
        mutate.assert_called_once_with()
        self.assertIn('SIGHUP received during the reload: reloading again',
                      self.records.messages())
        # The second reload applied what the second SIGHUP was sent for.
        self.assertEqual(('6.2', '6.2'), self.caps(svc)['compute'])
        # And the handler found on entry is back.
        self.assertIs(handler, signal.getsignal(signal.SIGHUP))

    def test_reads_the_mutated_options(self):
        svc = self.started_conductor()
        self.flags(group='upgrade_levels', compute='6.2', scheduler='pike')
        svc.reset()
        self.assertEqual({'compute': ('6.2', '6.2'),
                          'scheduler': ('2.1', '2.1')}, self.caps(svc))
        self.assertEqual([('explicit', '6.2'), ('alias', 'pike')],
                         [(d.source, d.configured)
                          for _name, d in svc.apis.decisions()])

    def test_bad_value_keeps_the_previous_cap(self):
        svc = self.started_conductor()
        self.flags(group='upgrade_levels', compute='banana')
        self.records.records[:] = []
        svc.reset()
        self.assertEqual({'compute': ('6.4', '6.4'),
                          'scheduler': ('2.2', '2.2')}, self.caps(svc))
        self.assertEqual(
            [('nova_versioning.service',
              'Pin resolution on SIGHUP failed; keeping the last good pins '
              '(compute=6.4, scheduler=2.2), still serving. Fix the cause '
              'and send SIGHUP to retry. Could not resolve the RPC version '
              "cap of compute (InvalidPin: Invalid value 'banana' for "
              "option [upgrade_levels]/compute: expected 'auto', a version "
              "from 6.2 to 6.5 or a release name (ocata, pike, queens)): "
              'each of them keeps its previous cap.')],
            self.records.at(logging.ERROR))
        # The value fixed, the next reload applies it.
        self.flags(group='upgrade_levels', compute='ocata')
        svc.reset()
        self.assertEqual(('6.3', '6.3'), self.caps(svc)['compute'])

    def test_never_raises(self):
        svc = self.started_conductor()
        self.flags(group='upgrade_levels', scheduler='9.9')
        with self.db_gone():
            svc.reset()
        self.assertEqual({'compute': ('6.4', '6.4'),
                          'scheduler': ('2.2', '2.2')}, self.caps(svc))
        errors = self.records.at(logging.ERROR)
        self.assertEqual(1, len(errors))
        self.assertIn('compute (DBConnectionError: database is gone); '
                      "scheduler (InvalidPin: Invalid value '9.9' for option "
                      '[upgrade_levels]/scheduler', errors[0][1])

    def test_never_raises_on_an_unexpected_error(self):
        svc = self.started_conductor()
        with mock.patch.object(svc.apis, 'resolve_all',
                               side_effect=RuntimeError('boom')):
            svc.reset()
        self.assertEqual(
            [('nova_versioning.service',
              'Reload failed; still serving with the previous pins')],
            self.records.at(logging.ERROR))
        self.assertEqual({'compute': ('6.4', '6.4'),
                          'scheduler': ('2.2', '2.2')}, self.caps(svc))

    def test_never_raises_without_any_pin(self):
        # A pin that was never resolved cannot be kept: the reload says so
        # and the service goes on.
        svc = self.conductor()
        svc.prepare()
        self.addCleanup(svc.stop)
        os.unlink(self.store().path)
        with self.db_gone():
            self.assertRaises(exception.PinResolutionFailed, svc.start)
            svc.reset()
        self.assertEqual(
            [('nova_versioning.service',
              'Reload failed; still serving with the previous pins')],
            self.records.at(logging.ERROR))


class TestReloadInPlace(_ReloadTestCase):
    """SIGHUP in a worker of the threading backend (request_reload)."""

    def test_reads_the_files_and_lifts_the_cap(self):
        svc = self.started_conductor()
        self.upgrade_behind_the_cache('c2')
        self.records.records[:] = []
        with mock.patch.object(svc.conf, 'mutate_config_files') as mutate:
            svc.reload_in_place()
        mutate.assert_called_once_with()
        self.assertEqual({'compute': ('6.5', '6.5'),
                          'scheduler': ('2.2', '2.2')}, self.caps(svc))
        self.assertIn('compute RPC version cap changed from 6.4 to 6.5',
                      self.records.messages())
        self.assertEqual({'compute': '6.5', 'scheduler': '2.2'},
                         self.stored_caps())

    def test_unreadable_files_keep_serving(self):
        svc = self.started_conductor()
        with mock.patch.object(svc.conf, 'mutate_config_files',
                               side_effect=ValueError('bad file')), \
                self.db_gone():
            svc.reload_in_place()
        errors = [message for _name, message in
                  self.records.at(logging.ERROR)]
        self.assertIn('Could not read the configuration files again; '
                      'keeping the current values', errors)
        self.assertEqual({'compute': ('6.4', '6.4'),
                          'scheduler': ('2.2', '2.2')}, self.caps(svc))

    def test_sighup_during_a_reload_reloads_once_more(self):
        svc = self.started_conductor()
        first_started = threading.Event()
        release = threading.Event()
        done = []
        reload_in_place = svc.reload_in_place

        def reload():
            if not done:
                first_started.set()
                release.wait(30)
            reload_in_place()
            done.append(len(done))

        with mock.patch.object(svc, 'reload_in_place', side_effect=reload), \
                mock.patch.object(svc.conf, 'mutate_config_files'):
            svc.request_reload()
            self.assertTrue(first_started.wait(30))
            # Two more SIGHUPs while the first reload runs: one more
            # reload, after it.
            svc.request_reload()
            svc.request_reload()
            self.flags(group='upgrade_levels', compute='6.2')
            release.set()
            deadline = time.monotonic() + 30
            while len(done) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.2)
        self.assertEqual([0, 1], done)
        self.assertEqual(('6.2', '6.2'), self.caps(svc)['compute'])


class TestRefresher(_ReloadTestCase):

    def wait_for(self, predicate, what):
        deadline = time.monotonic() + fakes.WAIT
        while not predicate():
            if time.monotonic() > deadline:
                self.fail('%s: not within %s seconds' % (what, fakes.WAIT))
            time.sleep(0.05)

    def test_no_timer_by_default(self):
        svc = self.started_conductor()
        self.assertEqual(0, self.conf.versioning.auto_refresh_interval)
        self.assertIsNone(svc._refresher)

    def test_resolves_periodically_until_stopped(self):
        self.flags(group='versioning', auto_refresh_interval=1)
        with mock.patch('nova_versioning.service.random.uniform',
                        return_value=0.1) as jitter:
            svc = self.started_conductor()
        jitter.assert_called_once_with(0, 1)
        refresher = svc._refresher
        self.assertIsNotNone(refresher)
        calls = mock.Mock(wraps=svc.resolve_pins)
        svc.resolve_pins = calls
        # Upgraded through the Service object (the cache forgets it).
        pike = objects.Service.get_by_host_and_binary(
            self.context, 'c2', 'nova-compute')
        pike.save()
        self.wait_for(lambda: self.caps(svc)['compute'] == ('6.5', '6.5'),
                      'the compute pin lifted by the timer')
        # The timer thread logs the change after it swapped the client in.
        self.wait_for(lambda: 'compute RPC version cap changed from 6.4 to '
                      '6.5' in self.records.messages(),
                      'the change logged by the timer')
        self.wait_for(lambda: calls.call_count >= 2, 'a second refresh')
        got = list(calls.call_args_list)
        self.assertEqual([mock.call('timer')] * len(got), got)
        svc.stop()
        # The loop ends (it would time out otherwise) and is not running.
        self.assertIs(True, refresher.done.wait(timeout=fakes.WAIT))
        self.assertFalse(refresher._running)

    def test_refresh_failure_is_logged_not_raised(self):
        svc = self.started_conductor()
        with mock.patch.object(svc, 'resolve_pins',
                               side_effect=RuntimeError('boom')):
            svc._refresh_pins()
        self.assertEqual(
            [('nova_versioning.service',
              'Automatic pin refresh failed; keeping the current pins')],
            self.records.at(logging.ERROR))

    def test_reset_applies_a_new_interval(self):
        svc = self.started_conductor()
        self.flags(group='versioning', auto_refresh_interval=1)
        svc.reset()
        first = svc._refresher
        self.assertIsNotNone(first)
        self.flags(group='versioning', auto_refresh_interval=0)
        svc.reset()
        self.assertIsNone(svc._refresher)
        self.assertIs(True, first.done.wait(timeout=fakes.WAIT))


class TestBadOptionValue(_ReloadTestCase):
    """A bad value written into the file before a SIGHUP never stops it.

    The options come from a real file, re-read as the launchers do
    (mutate_config_files); flags() would bypass the parsing.
    """

    def setUp(self):
        super().setUp()
        self.path = os.path.join(self.conf.state_path, 'service.conf')
        self.write(auto_refresh_interval=3600)
        self.conf(['--config-file', self.path], default_config_files=[])
        # The timer never fires in these tests; its jitter call shows the
        # interval each (re)start used.
        jitter = mock.patch('nova_versioning.service.random.uniform',
                            return_value=3600)
        self.jitter = jitter.start()
        self.addCleanup(jitter.stop)

    def write(self, **versioning):
        with open(self.path, 'w') as f:
            f.write('[versioning]\n')
            for name, value in versioning.items():
                f.write('%s = %s\n' % (name, value))

    def sighup(self, **versioning):
        self.write(**versioning)
        self.records.records[:] = []
        self.conf.mutate_config_files()

    def errors(self):
        return [message for _name, message in self.records.at(logging.ERROR)]

    def expected(self, name, value, allowed, kept, what='the last good '
                 'value'):
        return ("Invalid value %r for option [versioning]/%s in %s: "
                "expected %s. Keeping %s (%s), still serving; fix the value "
                "and send SIGHUP to apply it." % (value, name, self.path,
                                                  allowed, kept, what))

    def intervals(self):
        return [c.args[1] for c in self.jitter.call_args_list]

    def test_current_value_follows_every_change(self):
        # LastGoodOptions.current: oslo.config's cache of values read while
        # it holds the option, and every change seen at once.
        options = lastgood.options(self.conf)

        def current():
            return options.current('versioning', 'stale_service_timeout')

        self.assertEqual([0, 0], [current(), current()])
        self.flags(stale_service_timeout=60, group='versioning')
        self.assertEqual([60, 60], [current(), current()])
        self.conf.clear_override('stale_service_timeout', group='versioning')
        self.assertEqual(0, current())
        self.sighup(stale_service_timeout=120)
        self.assertEqual([120, 120], [current(), current()])
        self.sighup(stale_service_timeout='abc')
        self.assertEqual([120, 120], [current(), current()])
        self.assertEqual(
            [self.expected('stale_service_timeout', 'abc',
                           'an integer from 0 to 315360000', 120)],
            self.errors())
        self.sighup(stale_service_timeout=30)
        self.assertEqual([30, 30], [current(), current()])
        self.assertEqual([], self.errors())

    def test_oslo_config_value_cache_is_where_current_looks(self):
        # LastGoodOptions.current reads oslo.config's private cache of
        # values; it falls back to a full read when the cache is not there,
        # so a change in oslo.config would only make it slower, silently.
        # This fails loudly instead.
        self.conf.versioning.stale_service_timeout
        cache = getattr(self.conf, '_ConfigOpts__cache', None)
        self.assertIs(dict, type(cache))
        self.assertIn(('versioning', 'stale_service_timeout'), cache)
        self.flags(stale_service_timeout=60, group='versioning')
        self.assertNotIn(('versioning', 'stale_service_timeout'),
                         getattr(self.conf, '_ConfigOpts__cache'))

    def test_reset_keeps_the_refresh_interval(self):
        svc = self.started_conductor()
        self.assertEqual([3600], self.intervals())
        self.sighup(auto_refresh_interval='abc')
        svc.reset()
        self.assertEqual(
            [self.expected('auto_refresh_interval', 'abc',
                           'an integer from 0 to 86400', 3600)],
            self.errors())
        self.assertEqual([3600, 3600], self.intervals())
        self.assertIsNotNone(svc._refresher)
        self.assertEqual(3600, self.conf.versioning.auto_refresh_interval)
        # Still serving with its pins.
        self.assertEqual({'compute': ('6.4', '6.4'),
                          'scheduler': ('2.2', '2.2')}, self.caps(svc))
        # The value fixed, the next SIGHUP applies it.
        self.sighup(auto_refresh_interval=1800)
        svc.reset()
        self.assertEqual([], self.errors())
        self.assertEqual([3600, 3600, 1800], self.intervals())

    def test_out_of_range_value(self):
        svc = self.started_conductor()
        self.sighup(auto_refresh_interval=-5)
        svc.reset()
        self.assertEqual(
            [self.expected('auto_refresh_interval', '-5',
                           'an integer from 0 to 86400', 3600)],
            self.errors())

    def test_respawned_worker_starts_with_the_last_good_value(self):
        # threading: the launching process re-reads the files, then forks
        # a new worker which runs start() again.
        svc = self.started_conductor()
        self.sighup(auto_refresh_interval=1800)
        svc.stop()
        self.start(svc)
        self.sighup(auto_refresh_interval='abc')
        svc.stop()
        self.start(svc)
        self.assertEqual([3600, 1800, 1800], self.intervals())
        # Logged once, where the files were read; not again by the worker.
        self.assertEqual(
            [self.expected('auto_refresh_interval', 'abc',
                           'an integer from 0 to 86400', 1800)],
            self.errors())
        self.assertEqual({'compute': ('6.4', '6.4'),
                          'scheduler': ('2.2', '2.2')}, self.caps(svc))

    def test_start_without_prepare_keeps_the_default(self):
        # No mutate hook: the service's own reads still fall back.
        self.sighup(auto_refresh_interval='abc')
        svc = self.conductor()
        self.start(svc)
        self.assertEqual(
            [self.expected('auto_refresh_interval', 'abc',
                           'an integer from 0 to 86400', 0, 'the default')],
            self.errors())
        self.assertIsNone(svc._refresher)
        self.assertIsNotNone(svc._heartbeat)

    def test_minimum_version_cache_ttl(self):
        svc = self.started_conductor()
        self.sighup(auto_refresh_interval=3600,
                    minimum_version_cache_ttl='soon')
        svc.reset()
        self.assertEqual(
            [self.expected('minimum_version_cache_ttl', 'soon',
                           'an integer from 0 to 86400', 30)],
            self.errors())
        # Lookups, here and for the computes this conductor answers, work.
        self.upgrade_behind_the_cache('c2')
        objects.Service.clear_min_version_cache()
        self.assertIs(True, svc.resolve_pins('test'))
        self.assertEqual(('6.5', '6.5'), self.caps(svc)['compute'])
        self.assertEqual(7, objects.Service.get_minimum_version(
            self.context, 'nova-compute'))

    def test_stale_service_timeout(self):
        svc = self.started_conductor()
        self.sighup(auto_refresh_interval=3600, stale_service_timeout='1h')
        svc.reset()
        self.assertEqual(
            [self.expected('stale_service_timeout', '1h',
                           'an integer from 0 to 315360000', 0)],
            self.errors())
        self.assertEqual(('6.4', '6.4'), self.caps(svc)['compute'])
        self.assertEqual(6, objects.Service.get_minimum_version(
            self.context, 'nova-compute'))

    def test_report_interval_is_read_as_started(self):
        # Immutable: a new value, good or bad, waits for a restart.
        with open(self.path, 'w') as f:
            f.write('[DEFAULT]\nreport_interval = 7\n')
        self.conf(['--config-file', self.path], default_config_files=[])
        svc = self.conductor()
        svc.prepare()
        with open(self.path, 'w') as f:
            f.write('[DEFAULT]\nreport_interval = often\n')
        self.conf.mutate_config_files()
        with mock.patch('oslo_service.loopingcall.'
                        'FixedIntervalLoopingCall') as timer:
            self.start(svc)
        timer.return_value.start.assert_called_once_with(
            interval=7, initial_delay=7)
        self.assertEqual([], self.errors())

    def test_bad_value_refuses_startup(self):
        self.write(auto_refresh_interval='abc')
        self.conf(['--config-file', self.path], default_config_files=[])
        exc = self.assertRaises(exception.InvalidOption,
                                self.conductor().prepare)
        self.assertEqual(
            "Invalid value 'abc' for option [versioning]/"
            "auto_refresh_interval in %s: expected an integer from 0 to 86400"
            % self.path, str(exc))
        # Refused before anything was written.
        self.assertIsNone(objects.Service.get_by_host_and_binary(
            self.context, 'cond1', 'nova-conductor'))
