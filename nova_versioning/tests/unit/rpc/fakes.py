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
"""In-process RPC for the client tests: fake:// transport, real servers."""

import queue

import fixtures
import oslo_messaging as messaging
from oslo_messaging import conffixture

from nova_versioning import history
from nova_versioning import rpc

WAIT = 10


def history_from(oldest_supported):
    """The default table, with another oldest supported release.

    With 'liberty' every version from 6.0 is a valid explicit pin, which
    lets the tests cap a client at any version of the table.
    """
    return history.VersionHistory(
        'test-%s' % oldest_supported, history.SERVICE_VERSION_HISTORY,
        history.RELEASES, oldest_supported)


class FakeTransport(fixtures.Fixture):
    """oslo.messaging on fake:// for the duration of the test."""

    def __init__(self, conf):
        super().__init__()
        self.conf = conf

    def _setUp(self):
        messaging_conf = self.useFixture(conffixture.ConfFixture(self.conf))
        messaging_conf.transport_url = 'fake:/'
        self.transport = rpc.get_transport(self.conf)
        self.addCleanup(self.transport.cleanup)


class Server(fixtures.Fixture):
    """A started RPC server with one endpoint."""

    def __init__(self, transport, topic, endpoint, server=None):
        super().__init__()
        self.transport = transport
        self.target = messaging.Target(topic=topic, server=server)
        self.endpoint = endpoint

    def _setUp(self):
        serializer = getattr(self.endpoint, 'rpc_serializer', None)
        self.server = rpc.get_server(
            self.transport, self.target, [self.endpoint],
            serializer=serializer() if serializer else None)
        self.server.start()
        self.addCleanup(self.server.wait)
        self.addCleanup(self.server.stop)


class Recorder(object):
    """Base of the fake endpoints: accepts ``version``, records calls.

    Subclasses define the methods of an API; each one records
    (method, context, kwargs) and returns ``answers.get(method)``.
    """

    def __init__(self, version, answers=None):
        self.target = messaging.Target(version=version)
        self.answers = answers or {}
        self.received = queue.Queue()

    def _record(self, method, context, kwargs):
        self.received.put((method, context, kwargs))
        return self.answers.get(method)

    def next_call(self, timeout=WAIT):
        """(method, context, kwargs) of the next message handled."""
        return self.received.get(timeout=timeout)

    def assert_nothing_received(self, wait=0.2):
        try:
            got = self.received.get(timeout=wait)
        except queue.Empty:
            return
        raise AssertionError('unexpected message %r' % (got,))
