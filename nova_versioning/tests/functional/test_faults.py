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
"""A start against a database or broker that fails ends in one line.

Real conductor processes, real MariaDB or PostgreSQL and RabbitMQ; the
faults come from a proxy of the test's own on loopback (tcpproxy): a
database that accepts connections and never answers, a broker port where
nothing listens, a broker that refuses the password. Each start must end
on its own (the waits below are generous upper bounds, never measured
times) with one error line, a non-zero exit code, no traceback and no
record written.
"""

import signal
import socket
import subprocess

import sqlalchemy as sa

from nova_versioning.tests import base
from nova_versioning.tests.functional import rpc_base
from nova_versioning.tests.functional import tcpproxy

# An upper bound for a start that fails: the process must be gone by then.
EXIT_WAIT = 120


def closed_port():
    """A loopback port nothing listens on."""
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


class FaultTestsMixin(object):

    def rows(self):
        with self.db.engine.connect() as conn:
            return conn.execute(sa.text(
                'SELECT COUNT(*) FROM services')).scalar()

    def failed_start(self, kind='conductor', host='ctl1', **kwargs):
        """Start a service that must fail; its log once it has exited."""
        proc = self.spawn(kind, host, **kwargs)
        try:
            code = proc.wait(timeout=EXIT_WAIT)
        except subprocess.TimeoutExpired:
            self.fail('%s still running after %ss:\n%s'
                      % (kind, EXIT_WAIT, proc.read_log()[-4000:]))
        log = proc.read_log()
        self.assertNotEqual(0, code, log)
        self.assertNotIn('Traceback', log)
        errors = [line for line in log.splitlines()
                  if line.startswith('nova-versioning-%s: error: ' % kind)]
        self.assertEqual(1, len(errors), log[-4000:])
        self.assertEqual(0, self.rows())
        return errors[0], log

    def test_database_black_holed_at_start(self):
        proxy = tcpproxy.TCPProxy('127.0.0.1', None).start()
        self.addCleanup(proxy.stop)
        url = sa.engine.make_url(self.db.url).set(host='127.0.0.1',
                                                  port=proxy.port)
        line, log = self.failed_start(extra={
            'database': {
                'connection': url.render_as_string(hide_password=False),
                'max_retries': 2, 'retry_interval': 1},
            'versioning': {'database_operation_timeout': 3}})
        self.assertIn('Cannot use the database at [database]/connection',
                      line)
        self.assertIn(':***@127.0.0.1:%d/' % proxy.port, line)


class BrokerFaultTestsMixin(object):

    def test_broker_port_closed_at_start(self):
        port = closed_port()
        line, log = self.failed_start(extra={
            'DEFAULT': {'transport_url':
                        'rabbit://guest:guest@127.0.0.1:%d/' % port},
            'versioning': {'broker_connect_timeout': 5}})
        self.assertEqual(
            'nova-versioning-conductor: error: Cannot use the message '
            'broker at [DEFAULT]/transport_url rabbit://guest:***@'
            '127.0.0.1:%d/: ConnectionRefusedError: [Errno 111] Connection '
            'refused (gave up after 5 s, [versioning]/'
            'broker_connect_timeout). Nothing was written; check that the '
            'broker runs and that the user, password and virtual host of '
            'transport_url are right.' % port, line)

    def test_broker_port_closed_sigterm_ends_the_wait(self):
        port = closed_port()
        proc = self.spawn('conductor', 'ctl1', extra={
            'DEFAULT': {'transport_url':
                        'rabbit://guest:guest@127.0.0.1:%d/' % port},
            'versioning': {'broker_connect_timeout': 3600}})
        proc.wait_for_log('runs service version', timeout=60)
        proc.signal(signal.SIGTERM)
        self.assertEqual(-signal.SIGTERM, proc.wait(timeout=30))
        self.assertEqual(0, self.rows())

    def test_broker_wrong_password(self):
        url = self.url.replace('guest:guest@', 'guest:wrong@')
        self.assertNotEqual(url, self.url)
        line, log = self.failed_start(extra={
            'DEFAULT': {'transport_url': url}})
        self.assertIn('Cannot use the message broker at [DEFAULT]/'
                      'transport_url rabbit://guest:***@', line)
        self.assertIn('AccessRefused', line)
        self.assertNotIn('wrong', line)
        # One start, no worker respawned over and over.
        self.assertEqual(1, log.count('runs service version'))


class FaultsMySQLTestCase(base.MySQLMixin, FaultTestsMixin,
                          BrokerFaultTestsMixin,
                          rpc_base.RPCFunctionalTestCase):
    pass


class FaultsPostgreSQLTestCase(base.PostgreSQLMixin, FaultTestsMixin,
                               rpc_base.RPCFunctionalTestCase):
    pass
