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
"""SIGHUP re-resolves every pin, for real, on both oslo.service backends.

Real conductor and compute processes (started with setsid, so SIGHUP is a
reload), a real database and RabbitMQ. What a service sends at is read
from its own answer to a ping (the caps of its live clients) and from its
log.
"""

import re
import signal
import time

import sqlalchemy as sa

from nova_versioning.tests import base
from nova_versioning.tests.functional import rpc_base
from nova_versioning.tests.functional import tcpproxy

AUTO = {'compute': 'auto', 'conductor': 'auto'}


class ReloadTestsMixin(object):

    BACKEND_NAME = None

    def spawn(self, kind, host, release=None, env=None, **kwargs):
        kwargs.setdefault('upgrade_levels', AUTO)
        env = dict(env or {},
                   NOVA_VERSIONING_SERVICE_BACKEND=self.BACKEND_NAME)
        return super().spawn(kind, host, release=release, env=env, **kwargs)

    def caps(self, kind, host):
        topic, version = {'conductor': ('conductor', '3.1'),
                          'compute': ('compute', '6.0')}[kind]
        client = self.raw_client(topic, server=host, version=version)
        return client.call(self.context, 'ping', payload='caps')['caps']

    def reload(self, proc, pattern, count=1):
        """SIGHUP proc; wait until pattern is logged after the signal."""
        offset = proc.log_size()
        proc.signal(signal.SIGHUP)
        return proc.wait_for_log(pattern, timeout=90, start=offset,
                                 count=count)

    def wait_serving(self, proc, what, start=None):
        """After a reload: the first worker still serves, none replaced it.

        Both backends reload in place (on threading, the worker reads the
        files and resolves the pins itself).
        """
        log = proc.read_log(proc.start_offset)
        self.assertEqual(1, len(re.findall(r'%s serving' % re.escape(what),
                                           log)), log[-4000:])
        self.assertNotRegex(log, r'Child \d+ (exited|killed)')
        self.assertIsNone(proc.proc.poll())

    def upgrade(self, proc, host):
        """Stop an old compute and start this release in its place."""
        proc.stop()
        self.processes.remove(proc)
        return self.start_service('compute', host)

    def _fleet(self, **conductor_kwargs):
        conductor = self.start_service('conductor', 'ctl1',
                                       **conductor_kwargs)
        old = self.start_service('compute', 'cpu-old', release='pike')
        new = self.start_service('compute', 'cpu-new')
        self.assertEqual('6.4', self.caps('conductor', 'ctl1')['compute'])
        return conductor, old, new

    def test_sighup_lifts_pins_of_conductor_and_compute(self):
        conductor, old, new = self._fleet()
        # cpu-new resolved its compute pin while cpu-old was recorded.
        self.assertEqual({'compute': '6.4', 'conductor': '3.2'},
                         self.caps('compute', 'cpu-new'))
        self.upgrade(old, 'cpu-old')
        # Nothing changes until the services are told to look again.
        self.assertEqual('6.4', self.caps('conductor', 'ctl1')['compute'])
        self.assertEqual('6.4', self.caps('compute', 'cpu-new')['compute'])

        self.reload(conductor, r'Automatically selected compute RPC version '
                               r'6\.5 from minimum service version 7 '
                               r'\(the latest version\)')
        conductor.wait_for_log(r'compute RPC version cap changed from 6\.4 '
                               r'to 6\.5')
        self.assertEqual({'compute': '6.5', 'scheduler': '2.2'},
                         self.caps('conductor', 'ctl1'))

        self.reload(new, r'compute RPC version cap changed from 6\.4 to '
                         r'6\.5')
        self.assertEqual({'compute': '6.5', 'conductor': '3.2'},
                         self.caps('compute', 'cpu-new'))
        if self.BACKEND_NAME == 'threading':
            # A reload, not a stop: said by the launching process, and no
            # worker line about a SIGTERM nobody sent.
            for proc in (conductor, new):
                log = proc.read_log(proc.start_offset)
                self.assertIn('Reloading (SIGHUP): configuration files '
                              're-read', log)
                self.assertNotRegex(log, r'INFO cotyledon\._service_worker '
                                         r'.*Caught SIGTERM signal')
                # In place: the worker that started serves still.
                self.assertNotRegex(log, r'Child \d+ (exited|killed)')
                self.assertEqual(1, len(re.findall(r' on \S+ serving \w+ RPC '
                                                   r'version', log)),
                                 log[-4000:])

    def test_database_unreachable_during_reload(self):
        url = sa.engine.make_url(self.db.url)
        proxy = tcpproxy.TCPProxy(url.host or '127.0.0.1',
                                  url.port or {'mysql': 3306,
                                               'postgresql': 5432}[
                                      self.BACKEND]).start()
        self.addCleanup(proxy.stop)
        proxied = url.set(host='127.0.0.1', port=proxy.port)
        conductor, old, new = self._fleet(extra={'database': {
            'connection': proxied.render_as_string(hide_password=False)}})
        self.upgrade(old, 'cpu-old')

        proxy.cut()
        self.reload(conductor, r'Pin resolution on \w+ failed; keeping the '
                               r'last good pins \(compute=6\.4, '
                               r'scheduler=2\.2\), still serving')
        log = conductor.read_log()
        self.assertIn('Could not resolve the RPC version cap of compute', log)
        # Still serving, with the old pin.
        self.assertEqual({'compute': '6.4', 'scheduler': '2.2'},
                         self.caps('conductor', 'ctl1'))

        proxy.restore()
        self.reload(conductor, r'compute RPC version cap changed from 6\.4 '
                               r'to 6\.5')
        self.assertEqual({'compute': '6.5', 'scheduler': '2.2'},
                         self.caps('conductor', 'ctl1'))

    def test_database_black_holed_during_reload(self):
        # The database accepts connections and never answers: every
        # operation gives up after database_operation_timeout, the reload
        # keeps the last good pins and the service answers all along.
        url = sa.engine.make_url(self.db.url)
        proxy = tcpproxy.TCPProxy(url.host or '127.0.0.1',
                                  url.port or {'mysql': 3306,
                                               'postgresql': 5432}[
                                      self.BACKEND]).start()
        self.addCleanup(proxy.stop)
        proxied = url.set(host='127.0.0.1', port=proxy.port)
        conductor, old, new = self._fleet(extra={
            'database': {'connection': proxied.render_as_string(
                hide_password=False)},
            'versioning': {'database_operation_timeout': 3}})
        self.upgrade(old, 'cpu-old')

        proxy.black_hole()
        offset = conductor.log_size()
        self.reload(conductor, r'Pin resolution on \w+ failed; keeping the '
                               r'last good pins \(compute=6\.4, '
                               r'scheduler=2\.2\), still serving')
        self.wait_serving(conductor, 'nova-conductor on ctl1', offset)
        for _ in range(5):
            self.assertEqual({'compute': '6.4', 'scheduler': '2.2'},
                             self.caps('conductor', 'ctl1'))
        log = conductor.read_log(offset)
        self.assertNotRegex(log, r'Child \d+ (exited|killed)')
        self.assertIsNone(conductor.proc.poll())

        proxy.forward()
        self.reload(conductor, r'compute RPC version cap changed from 6\.4 '
                               r'to 6\.5')
        self.assertEqual({'compute': '6.5', 'scheduler': '2.2'},
                         self.caps('conductor', 'ctl1'))

    def test_bad_value_in_config_file_keeps_pin(self):
        conductor, old, new = self._fleet()
        config = conductor.config_files[0]
        with open(config) as f:
            text = f.read()
        with open(config, 'w') as f:
            f.write(text.replace('compute = auto', 'compute = banana'))
        self.reload(conductor, r"Pin resolution on \w+ failed; keeping the "
                               r"last good pins \(compute=6\.4, "
                               r"scheduler=2\.2\), still serving\. .*"
                               r"Invalid value 'banana' for option "
                               r"\[upgrade_levels\]/compute: expected 'auto'")
        self.assertEqual({'compute': '6.4', 'scheduler': '2.2'},
                         self.caps('conductor', 'ctl1'))
        # The computes still reach the database through it.
        before = self._report_count('cpu-new')
        self.wait_for(lambda: self._report_count('cpu-new') > before + 1,
                      what='heartbeats of cpu-new through the conductor')

        with open(config, 'w') as f:
            f.write(text.replace('compute = auto', 'compute = 6.3'))
        self.reload(conductor, r'compute RPC version cap changed from 6\.4 '
                               r'to 6\.3')
        self.assertEqual('6.3', self.caps('conductor', 'ctl1')['compute'])

    def _rewrite(self, proc, old, new):
        config = proc.config_files[0]
        with open(config) as f:
            text = f.read()
        self.assertIn(old, text)
        with open(config, 'w') as f:
            f.write(text.replace(old, new))

    def test_bad_option_value_keeps_serving(self):
        conductor = self.start_service(
            'conductor', 'ctl1',
            extra={'versioning': {'auto_refresh_interval': 3600}})
        self.start_service('compute', 'cpu-new')
        self._rewrite(conductor, 'auto_refresh_interval = 3600',
                      'auto_refresh_interval = abc')
        offset = conductor.log_size()
        conductor.signal(signal.SIGHUP)
        conductor.wait_for_log(
            r"Invalid value 'abc' for option \[versioning\]/"
            r"auto_refresh_interval in \S+: expected an integer from 0 "
            r"to \d+\. Keeping 3600 \(the last good value\), still "
            r"serving", start=offset, timeout=90)
        self.wait_serving(conductor, 'nova-conductor on ctl1', offset)
        self.assertEqual({'compute': '6.5', 'scheduler': '2.2'},
                         self.caps('conductor', 'ctl1'))
        before = self._report_count('ctl1')
        self.wait_for(lambda: self._report_count('ctl1') > before + 1,
                      what='heartbeats of ctl1')
        # The computes still reach the database through it.
        before = self._report_count('cpu-new')
        self.wait_for(lambda: self._report_count('cpu-new') > before + 1,
                      what='heartbeats of cpu-new through the conductor')
        log = conductor.read_log(offset)
        self.assertEqual(1, log.count("Invalid value 'abc'"), log[-4000:])
        self.assertNotIn('Traceback', log)
        self.assertNotRegex(log, r'Child \d+ (exited|killed)')

        self._rewrite(conductor, 'auto_refresh_interval = abc',
                      'auto_refresh_interval = 1')
        self.reload(conductor, r'Automatically selected compute RPC '
                               r'version 6\.5', count=2)
        self.assertEqual({'compute': '6.5', 'scheduler': '2.2'},
                         self.caps('conductor', 'ctl1'))
        self.assertNotIn('Traceback', conductor.read_log(offset))

    def test_conductor_unreachable_during_compute_reload(self):
        conductor, old, new = self._fleet()
        extra = {'versioning': {'minimum_version_lookup_timeout': 2}}
        new.stop()
        self.processes.remove(new)
        new = self.start_service('compute', 'cpu-new', extra=extra)
        self.assertEqual({'compute': '6.4', 'conductor': '3.2'},
                         self.caps('compute', 'cpu-new'))
        conductor.stop()
        self.processes.remove(conductor)
        # cpu-old upgraded while no conductor runs (its record rewritten,
        # as its restart would through a conductor).
        old.stop()
        with self.db.engine.begin() as conn:
            conn.execute(sa.text(
                "UPDATE services SET version = 7 WHERE host = 'cpu-old'"))

        self.reload(new, r'Pin resolution on \w+ failed; keeping the last '
                         r'good pins \(conductor=3\.2, compute=6\.4\), '
                         r'still serving')
        self.wait_serving(new, 'nova-compute on cpu-new')
        log = new.read_log()
        self.assertIn('MessagingTimeout', log)
        # The broker is up: cpu-new answers with its kept pins.
        self.assertEqual({'compute': '6.4', 'conductor': '3.2'},
                         self.caps('compute', 'cpu-new'))

        self.start_service('conductor', 'ctl1')
        self.reload(new, r'compute RPC version cap changed from 6\.4 to '
                         r'6\.5')
        self.assertEqual({'compute': '6.5', 'conductor': '3.2'},
                         self.caps('compute', 'cpu-new'))
        if self.BACKEND_NAME == 'threading':
            # A reload, not a stop: said by the launching process, and no
            # worker line about a SIGTERM nobody sent. (The first
            # conductor was stopped, never reloaded.)
            for proc in (new,):
                log = proc.read_log(proc.start_offset)
                self.assertIn('Reloading (SIGHUP): configuration files '
                              're-read', log)
                self.assertNotRegex(log, r'INFO cotyledon\._service_worker '
                                         r'.*Caught SIGTERM signal')

    def _report_count(self, host):
        with self.db.engine.connect() as conn:
            return conn.execute(sa.text(
                "SELECT report_count FROM services WHERE host = :host"),
                {'host': host}).scalar()


class ThreadingReloadMySQLTestCase(base.MySQLMixin, ReloadTestsMixin,
                                   rpc_base.RPCFunctionalTestCase):
    BACKEND_NAME = 'threading'


class EventletReloadPostgreSQLTestCase(base.PostgreSQLMixin,
                                       ReloadTestsMixin,
                                       rpc_base.RPCFunctionalTestCase):
    BACKEND_NAME = 'eventlet'

    def test_second_sighup_during_a_reload_keeps_serving(self):
        # oslo.service's eventlet launcher leaves SIGHUP at its default
        # action (the end of the process) while it handles one. A compute
        # waiting on a stopped conductor holds its reload open long enough
        # for the second SIGHUP to land inside it.
        conductor, old, new = self._fleet()
        new.stop()
        self.processes.remove(new)
        new = self.start_service('compute', 'cpu-new', extra={
            'versioning': {'minimum_version_lookup_timeout': 5}})
        conductor.stop()
        self.processes.remove(conductor)

        offset = new.log_size()
        self.reload(new, r'Reloading: re-resolving every RPC version pin')
        new.signal(signal.SIGHUP)
        new.wait_for_log(r'SIGHUP received during the reload: reloading '
                         r'again', timeout=90, start=offset)
        new.wait_for_log(r'Pin resolution on \w+ failed; keeping the last '
                         r'good pins', timeout=90, start=offset, count=2)
        self.assertIsNone(new.proc.poll())
        # Still serving, with its kept pins.
        self.assertEqual({'compute': '6.4', 'conductor': '3.2'},
                         self.caps('compute', 'cpu-new'))

    def test_sighup_storm_keeps_serving(self):
        # 50 SIGHUPs 10 ms apart, three times: the reloads they cause are
        # coalesced, and the process neither dies nor stops answering.
        conductor = self.start_service('conductor', 'ctl1')
        for storm in range(3):
            offset = conductor.log_size()
            for _ in range(50):
                conductor.signal(signal.SIGHUP)
                time.sleep(0.01)
            conductor.wait_for_log(r'Reloading: re-resolving every RPC '
                                   r'version pin', timeout=90, start=offset)
            self.assertEqual({'compute': '6.5', 'scheduler': '2.2'},
                             self.caps('conductor', 'ctl1'))
            self.assertIsNone(conductor.proc.poll(),
                              conductor.read_log(offset)[-4000:])
        # Still reloads on a single SIGHUP after the storms.
        self.reload(conductor, r'Reloading: re-resolving every RPC version '
                               r'pin')
        self.assertEqual({'compute': '6.5', 'scheduler': '2.2'},
                         self.caps('conductor', 'ctl1'))
        self.assertIsNone(conductor.proc.poll())
        self.assertNotIn('Traceback', conductor.read_log())
