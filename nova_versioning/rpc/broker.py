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
"""Check, before a service registers, that its broker lets it in.

oslo.messaging connects when the first server or client needs it, and a
running service should ride out a broker restart, so it retries for ever.
At startup that is wrong: a service whose broker is down or refuses its
credentials would write its record and then never serve (and on the
threading backend respawn its worker again and again). :func:`check`
opens one AMQP connection of its own to the broker of
``[DEFAULT]/transport_url``, as oslo.messaging's RabbitMQ driver would
(same hosts, credentials, virtual host and TLS options), and gives up
after ``[versioning]/broker_connect_timeout`` seconds, or at once when the
broker refuses the credentials or the virtual host.

Only the ``rabbit`` transport is checked; the in-process transports
(``fake://``, ``kombu+memory://``) have nothing to reach.
"""

import socket
import ssl
import time

import amqp.exceptions
import kombu
import oslo_messaging as messaging
from oslo_utils import netutils

from nova_versioning import exception

RABBIT_TRANSPORTS = ('rabbit',)

# Seconds between two rounds over the broker's hosts.
RETRY_INTERVAL = 2

# One attempt on one host: the TCP connect and the AMQP handshake.
_ATTEMPT_TIMEOUT = 10


def masked_url(url):
    """The transport URL of ``url`` (a TransportURL) without passwords."""
    hosts = ','.join(
        '%s%s:%s' % ('%s:***@' % host.username if host.username else '',
                     netutils.escape_ipv6(host.hostname or 'localhost'),
                     host.port or 5672)
        for host in url.hosts)
    return '%s://%s/%s' % (url.transport, hosts, url.virtual_host or '')


def _ssl_options(conf):
    try:
        group = conf.oslo_messaging_rabbit
        enabled = group.ssl
    except Exception:
        return False
    if not enabled:
        return False
    options = {}
    if group.ssl_version:
        from oslo_messaging._drivers import impl_rabbit
        options['ssl_version'] = impl_rabbit.Connection.validate_ssl_version(
            group.ssl_version)
    if group.ssl_key_file:
        options['keyfile'] = group.ssl_key_file
    if group.ssl_cert_file:
        options['certfile'] = group.ssl_cert_file
    if group.ssl_ca_file:
        options['ca_certs'] = group.ssl_ca_file
        options['cert_reqs'] = ssl.CERT_REQUIRED
    return options or True


def _refused(exc):
    """True when retrying cannot help: credentials or vhost refused."""
    return isinstance(exc, (amqp.exceptions.AccessRefused,
                            amqp.exceptions.NotAllowed))


def _connect_once(url, host, timeout, ssl_options):
    connection = kombu.Connection(
        hostname=host.hostname or 'localhost', port=host.port or 5672,
        userid=host.username or 'guest', password=host.password or 'guest',
        virtual_host=url.virtual_host or '/', ssl=ssl_options,
        connect_timeout=timeout, transport='pyamqp',
        transport_options={'read_timeout': timeout,
                           'write_timeout': timeout})
    try:
        connection.connect()
    finally:
        connection.release()


def check(conf, timeout=None, sleep=time.sleep, clock=time.monotonic):
    """Raise BrokerUnreachable unless the broker accepts a connection.

    :param timeout: seconds to keep trying (default:
        ``[versioning]/broker_connect_timeout``).
    :raises BrokerUnreachable: no host accepted the connection in time,
        or one refused the credentials or the virtual host.
    """
    # Registers the transport options and checks the URL, connecting
    # nowhere.
    messaging.get_rpc_transport(conf).cleanup()
    url = messaging.TransportURL.parse(conf, conf.transport_url)
    if url.transport not in RABBIT_TRANSPORTS or not url.hosts:
        return
    if timeout is None:
        timeout = conf.versioning.broker_connect_timeout
    ssl_options = _ssl_options(conf)
    deadline = clock() + timeout
    while True:
        errors = []
        for host in url.hosts:
            attempt = max(1, min(_ATTEMPT_TIMEOUT, deadline - clock()))
            try:
                _connect_once(url, host, attempt, ssl_options)
                return
            except Exception as exc:
                if _refused(exc):
                    raise exception.BrokerUnreachable(
                        url=masked_url(url),
                        reason=_describe(exc)) from None
                errors.append(exc)
        if clock() + RETRY_INTERVAL >= deadline:
            raise exception.BrokerUnreachable(
                url=masked_url(url),
                reason='%s (gave up after %s s, '
                       '[versioning]/broker_connect_timeout)'
                % (_describe(errors[-1]), timeout)) from None
        sleep(RETRY_INTERVAL)


def _describe(exc):
    if isinstance(exc, socket.timeout):
        return 'no answer (timed out)'
    text = ' '.join(str(exc).split()) or type(exc).__name__
    return '%s: %s' % (type(exc).__name__, text)
