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
"""Functional tests with real service processes over real RabbitMQ.

Each test gets its own database (SQLite file, MariaDB or PostgreSQL, see
tests.base) and its own RabbitMQ virtual host, created with rabbitmqctl and
deleted afterwards, so tests running side by side never consume each
other's messages (queue names are the RPC topics, shared across exchanges
of one virtual host). The test process itself plays a controller: it reads
the same database and sends through the same broker.
"""

import os
import socket
import time
import urllib.parse

import fixtures
import oslo_messaging as messaging
from oslo_messaging import conffixture
from oslo_utils import uuidutils
from testtools import content

from nova_versioning.grenade import process
from nova_versioning import rpc
from nova_versioning.tests import base

DEFAULT_TRANSPORT_URL = 'rabbit://guest:guest@127.0.0.1:5672/'


def transport_url():
    return os.environ.get('NOVA_VERSIONING_TRANSPORT_URL',
                          DEFAULT_TRANSPORT_URL)


def require_broker(test, url):
    """Skip test, or fail it when servers are required, if url is down."""
    parsed = urllib.parse.urlparse(url.split(',')[0])
    host = parsed.hostname or '127.0.0.1'
    port = parsed.port or 5672
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as exc:
        message = 'RabbitMQ is not reachable at %s:%s: %s' % (
            host, port, exc)
        if base.servers_required():
            test.fail(message)
        test.skipTest(message)


class RPCFunctionalTestCase(base.DBTestCase):
    """Real processes, real broker, real database (BACKEND)."""

    def setUp(self):
        super().setUp()
        require_broker(self, transport_url())
        self.exchange = 'nvtest-%s' % uuidutils.generate_uuid()[:12]
        self.url = self._private_vhost(transport_url(), self.exchange)
        self.tmp = self.useFixture(fixtures.TempDir()).path
        msg_fixture = self.useFixture(conffixture.ConfFixture(self.conf))
        msg_fixture.transport_url = self.url
        self.flags(control_exchange=self.exchange)
        self.flags(rpc_response_timeout=20)
        self.transport = rpc.get_transport(self.conf)
        self.addCleanup(self.transport.cleanup)
        self.processes = []
        self.addCleanup(self._stop_all)

    def _private_vhost(self, url, name):
        """A fresh virtual host for this test (see process.rabbit_vhost).

        Without rabbitmqctl (a remote broker), the URL is used as given and
        tests must not run side by side.
        """
        try:
            url, drop = process.rabbit_vhost(url, name)
        except RuntimeError as exc:
            self.fail(str(exc))
        if drop is not None:
            self.addCleanup(drop)
        return url

    def _stop_all(self):
        # Computes first: they reach the database through the conductor.
        for proc in sorted(self.processes,
                           key=lambda p: p.kind == 'conductor'):
            proc.stop()
            self.addDetail(os.path.basename(proc.log_path),
                           content.text_content(proc.read_log()[-200000:]))

    def write_config(self, name, sections):
        return process.write_config(
            os.path.join(self.tmp, '%s.conf' % name), sections)

    def service_config(self, kind, host, release=None, db_access=True,
                       upgrade_levels=None, extra=None):
        sections = {
            'DEFAULT': {
                'host': host,
                'transport_url': self.url,
                'control_exchange': self.exchange,
                'report_interval': 1,
                'rpc_response_timeout': 20,
                'state_path': self.tmp,
                'debug': 'true',
            },
            'database': {
                'connection': self.db.url if db_access else
                'sqlite:////nonexistent/no-database-here.sqlite',
                'max_retries': 0,
            },
            'versioning': {'emulated_release': release},
            'upgrade_levels': dict(upgrade_levels or {}),
            'oslo_messaging_rabbit': {'heartbeat_timeout_threshold': 0},
        }
        for section, values in (extra or {}).items():
            sections.setdefault(section, {}).update(values)
        return self.write_config('%s-%s' % (kind, host), sections)

    def spawn(self, kind, host, release=None, env=None, **kwargs):
        """Start a service process (not waiting for it)."""
        config = self.service_config(kind, host, release=release,
                                     db_access=(kind != 'compute'),
                                     **kwargs)
        proc = process.ServiceProcess(
            kind, [config], os.path.join(self.tmp, '%s-%s.log'
                                         % (kind, host)), env=env)
        self.processes.append(proc.start())
        return proc

    def start_service(self, kind, host, release=None, **kwargs):
        """Start a service process and wait until it serves."""
        proc = self.spawn(kind, host, release=release, **kwargs)
        proc.wait_for_log(r'nova-%s on %s serving' % (kind, host),
                          timeout=60)
        return proc

    def raw_client(self, topic, server=None, version='1.0', timeout=20):
        target = messaging.Target(topic=topic, server=server,
                                  version=version)
        return rpc.get_client(self.transport, target).prepare(
            timeout=timeout)

    def wait_for(self, predicate, timeout=30, interval=0.2, what='it'):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                self.fail('timed out after %ss waiting for %s'
                          % (timeout, what))
            time.sleep(interval)
