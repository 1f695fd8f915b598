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
"""Database deadlines, the broker check and the SIGHUP guard, in-process.

Servers that never answer are loopback sockets of the test's own; the
tests assert what fails and how, never how long it took.
"""

import signal
import socket
from unittest import mock

import fixtures
from oslo_messaging import conffixture
import psycopg2
from psycopg2 import extensions
import sqlalchemy as sa

from nova_versioning.db import timeouts
from nova_versioning import exception
from nova_versioning.rpc import broker
from nova_versioning import service
from nova_versioning.tests import base


class TestDatabaseTimeouts(base.TestCase):

    def test_parameters_per_driver(self):
        t = timeouts.DatabaseTimeouts(30)
        self.assertEqual({'connect_timeout': 10, 'read_timeout': 30,
                          'write_timeout': 30}, t.parameters('pymysql'))
        self.assertEqual({'timeout': 30}, t.parameters('pysqlite'))
        self.assertEqual({}, t.parameters('oracle'))
        self.assertEqual(
            {'connect_timeout': 10, 'keepalives': 1, 'keepalives_idle': 10,
             'keepalives_interval': 10, 'keepalives_count': 3,
             'tcp_user_timeout': 30000,
             'options': '-c statement_timeout=30000'},
            t.apply('psycopg2', {}))
        self.assertEqual(
            {'connect_timeout': 1, 'read_timeout': 1, 'write_timeout': 1},
            timeouts.DatabaseTimeouts(1).parameters('pymysql'))
        # libpq's smallest connect timeout is 2 s.
        self.assertEqual(2, timeouts.DatabaseTimeouts(1).parameters(
            'psycopg2')['connect_timeout'])

    def test_configured_parameters_take_precedence(self):
        t = timeouts.DatabaseTimeouts(30)
        self.assertEqual({'connect_timeout': 5, 'read_timeout': 600,
                          'write_timeout': 30},
                         t.apply('pymysql', {'connect_timeout': 5,
                                             'read_timeout': 600}))
        self.assertEqual('-c search_path=x -c statement_timeout=30000',
                         t.apply('psycopg2', {
                             'options': '-c search_path=x'})['options'])
        self.assertEqual('-c statement_timeout=5',
                         t.apply('psycopg2', {
                             'options': '-c statement_timeout=5'})['options'])

    def test_connecting_only(self):
        # db sync: the connection is bounded, the migrations are not.
        t = timeouts.DatabaseTimeouts(30, statements=False)
        self.assertEqual({'connect_timeout': 10}, t.parameters('pymysql'))
        self.assertEqual(
            {'connect_timeout': 10, 'keepalives': 1, 'keepalives_idle': 10,
             'keepalives_interval': 10, 'keepalives_count': 3,
             'tcp_user_timeout': 30000},
            t.apply('psycopg2', {}))
        self.assertEqual({'timeout': 30}, t.parameters('pysqlite'))

    def test_install_connecting_only_sets_no_wait_callback(self):
        self.addCleanup(timeouts.uninstall)
        timeouts.install(self.conf)
        self.assertIsNotNone(extensions.get_wait_callback())
        installed = timeouts.install(self.conf, statements=False)
        self.assertFalse(installed.statements)
        self.assertIsNone(extensions.get_wait_callback())
        self.assertIs(installed, timeouts.installed())

    def test_install_applies_to_new_connections(self):
        self.flags(database_operation_timeout=17, group='versioning')
        self.addCleanup(timeouts.uninstall)
        timeouts.install(self.conf)
        seen = []
        engine = sa.create_engine('sqlite://')
        sa.event.listen(engine, 'do_connect',
                        lambda d, r, a, kw: seen.append(dict(kw)))
        with engine.connect() as conn:
            conn.execute(sa.text('SELECT 1'))
        self.assertEqual([17], [kw['timeout'] for kw in seen])
        self.assertEqual(extensions.get_wait_callback(),
                         timeouts._Installed.timeouts.psycopg2_wait)
        # Installed again: one listener, the new timeout.
        self.flags(database_operation_timeout=18, group='versioning')
        timeouts.install(self.conf)
        del seen[:]
        engine = sa.create_engine('sqlite://')
        sa.event.listen(engine, 'do_connect',
                        lambda d, r, a, kw: seen.append(dict(kw)))
        with engine.connect():
            pass
        self.assertEqual([18], [kw['timeout'] for kw in seen])
        timeouts.uninstall()
        self.assertIsNone(extensions.get_wait_callback())

    def test_psycopg2_wait_gives_up_on_silence(self):
        silent, other = socket.socketpair()
        self.addCleanup(silent.close)
        self.addCleanup(other.close)

        class Connection(object):
            def poll(self):
                return extensions.POLL_READ

            def fileno(self):
                return silent.fileno()

        exc = self.assertRaises(
            psycopg2.OperationalError,
            timeouts.DatabaseTimeouts(1).psycopg2_wait, Connection())
        self.assertEqual(
            'could not receive data from server: no answer within 1 '
            'seconds ([versioning]/database_operation_timeout)', str(exc))

    def test_psycopg2_wait_returns_when_answered(self):
        states = [extensions.POLL_WRITE, extensions.POLL_READ,
                  extensions.POLL_OK]
        ready, other = socket.socketpair()
        self.addCleanup(ready.close)
        self.addCleanup(other.close)
        other.send(b'x')

        class Connection(object):
            def poll(self):
                return states.pop(0)

            def fileno(self):
                return ready.fileno()

        timeouts.DatabaseTimeouts(30).psycopg2_wait(Connection())
        self.assertEqual([], states)


class TestBrokerCheck(base.TestCase):

    def setUp(self):
        super().setUp()
        self.clock = [0.0]
        self.sleeps = []
        self.messaging_conf = self.useFixture(
            conffixture.ConfFixture(self.conf))

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.clock[0] += seconds

    def check(self, url, timeout=5):
        self.messaging_conf.transport_url = url
        return broker.check(self.conf, timeout=timeout, sleep=self.sleep,
                            clock=lambda: self.clock[0])

    def test_in_process_transports_are_not_checked(self):
        self.check('fake:/')
        self.check('kombu+memory:////')
        self.assertEqual([], self.sleeps)

    def test_closed_port(self):
        sock = socket.socket()
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
        sock.close()
        exc = self.assertRaises(
            exception.BrokerUnreachable, self.check,
            'rabbit://user:secret@127.0.0.1:%d/vh' % port)
        self.assertEqual(
            'Cannot use the message broker at [DEFAULT]/transport_url '
            'rabbit://user:***@127.0.0.1:%d/vh: ConnectionRefusedError: '
            '[Errno 111] Connection refused (gave up after 5 s, '
            '[versioning]/broker_connect_timeout). Nothing was written; '
            'check that the broker runs and that the user, password and '
            'virtual host of transport_url are right.' % port, str(exc))
        self.assertNotIn('secret', str(exc))
        # Tried again every RETRY_INTERVAL until the deadline.
        self.assertEqual([broker.RETRY_INTERVAL] * 2, self.sleeps)

    def test_black_hole(self):
        listener = socket.socket()
        listener.bind(('127.0.0.1', 0))
        listener.listen(8)
        self.addCleanup(listener.close)
        exc = self.assertRaises(
            exception.BrokerUnreachable, self.check,
            'rabbit://guest:guest@127.0.0.1:%d/' % listener.getsockname()[1],
            timeout=1)
        self.assertIn('gave up after 1 s', str(exc))

    def test_refused_credentials_are_not_retried(self):
        import amqp.exceptions
        with mock.patch.object(broker, '_connect_once', side_effect=(
                amqp.exceptions.AccessRefused('ACCESS_REFUSED - Login was '
                                              'refused'))):
            exc = self.assertRaises(
                exception.BrokerUnreachable, self.check,
                'rabbit://guest:bad@127.0.0.1:5672/')
        self.assertIn('AccessRefused: ', str(exc))
        self.assertIn('ACCESS_REFUSED', str(exc))
        self.assertEqual([], self.sleeps)

    def test_any_host_will_do(self):
        calls = []

        def connect(url, host, timeout, ssl_options):
            calls.append(host.port)
            if host.port == 1:
                raise ConnectionRefusedError(111, 'Connection refused')

        with mock.patch.object(broker, '_connect_once', connect):
            self.check('rabbit://a:b@127.0.0.1:1,a:b@127.0.0.1:2/')
        self.assertEqual([1, 2], calls)


class FakeSignalHandler(object):
    def __init__(self):
        self.cleared = 0

    def clear(self):
        self.cleared += 1


class FakeLauncher(object):
    """The SIGHUP cycle of oslo.service's eventlet ServiceLauncher."""

    def __init__(self):
        self.signal_handler = FakeSignalHandler()
        self.reloads = 0
        self.installed = 0

    def _reload_service(self, *args):
        self.signal_handler.clear()
        self.reloads += 1
        raise SystemExit(signal.SIGHUP)

    def handle_signal(self):
        self.signal_handler.clear()
        self.installed += 1


class TestSighupGuard(base.TestCase):

    def setUp(self):
        super().setUp()
        previous = signal.getsignal(signal.SIGHUP)
        self.addCleanup(signal.signal, signal.SIGHUP, previous)
        self.kill = self.useFixture(fixtures.MockPatch('os.kill')).mock
        self.launcher = FakeLauncher()
        self.assertTrue(service.SighupGuard.applies_to(self.launcher))
        self.assertFalse(service.SighupGuard.applies_to(object()))
        self.guard = service.SighupGuard(self.launcher).apply()

    def test_sighup_is_held_until_the_handlers_are_installed(self):
        # Before the launcher's first handle_signal(): recorded.
        self.assertEqual(self.guard._hold,
                         signal.getsignal(signal.SIGHUP))
        self.guard._hold(signal.SIGHUP, None)
        self.launcher.handle_signal()
        self.kill.assert_called_once_with(mock.ANY, signal.SIGHUP)
        self.assertFalse(self.guard.pending)

    def test_one_reload_per_cycle_the_rest_coalesced(self):
        self.launcher.handle_signal()
        self.assertRaises(SystemExit, self.launcher._reload_service)
        # The launcher reset its handlers: SIGHUP is held, not defaulted.
        self.assertEqual(self.guard._hold, signal.getsignal(signal.SIGHUP))
        # Callbacks of signals queued before the reset, and signals after.
        for _ in range(10):
            self.launcher._reload_service()
            self.guard._hold(signal.SIGHUP, None)
        self.assertEqual(1, self.launcher.reloads)
        self.kill.assert_not_called()
        self.launcher.handle_signal()
        # One more reload covers them all.
        self.kill.assert_called_once_with(mock.ANY, signal.SIGHUP)
        self.assertRaises(SystemExit, self.launcher._reload_service)
        self.assertEqual(2, self.launcher.reloads)

    def test_no_sighup_during_the_reload_no_extra_reload(self):
        self.launcher.handle_signal()
        self.assertRaises(SystemExit, self.launcher._reload_service)
        self.launcher.handle_signal()
        self.kill.assert_not_called()
