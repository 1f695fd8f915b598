#!/usr/bin/env python3
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
"""How many RPC calls a graceful restart of their server leaves unanswered.

oslo.messaging alone, no code of this project: callers call an RPC server
in a child process without pause; the server is stopped as a service stops
it (``server.stop()``, then ``server.wait()``) and a new one started at
once, ``--restarts`` times. Every call is either answered or ends in
MessagingTimeout (``--timeout``, longer than the restart): a call sent
while no server ran waits in the queue for the next one, so a timeout is a
call the stopping server took and never answered. Run with ``--restarts
0`` for the same load without a restart::

    python tools/rpc-stop-loss.py --url rabbit://guest:guest@127.0.0.1:5672/
"""

import argparse
import collections
import json
import subprocess
import sys
import threading
import time

TOPIC = 'rpc_stop_loss'


def _transport(url):
    from oslo_config import cfg
    import oslo_messaging as messaging
    from oslo_messaging import conffixture

    conf = cfg.ConfigOpts()
    conffixture.ConfFixture(conf)
    conf([])
    return messaging.get_rpc_transport(conf, url=url)


def serve(url):
    """The child: serve ``ping`` until SIGTERM, then stop gracefully."""
    import signal

    import oslo_messaging as messaging

    class Endpoint(object):
        target = messaging.Target(version='1.0')

        def ping(self, ctxt, n):
            return n

    transport = _transport(url)
    server = messaging.get_rpc_server(
        transport, messaging.Target(topic=TOPIC, server='server'),
        [Endpoint()], executor='threading')
    server.start()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *args: stopping.set())
    print('ready', flush=True)
    stopping.wait()
    server.stop()
    server.wait()
    transport.cleanup()
    return 0


def _start(url):
    proc = subprocess.Popen([sys.executable, __file__, '--serve', '--url',
                             url], stdout=subprocess.PIPE, text=True)
    if proc.stdout.readline().strip() != 'ready':
        proc.kill()
        raise RuntimeError('the RPC server did not start')
    return proc


def measure(url, restarts, callers, timeout, interval):
    import oslo_messaging as messaging

    transport = _transport(url)
    client = messaging.get_rpc_client(
        transport, messaging.Target(topic=TOPIC, version='1.0'),
        timeout=timeout)
    counts = collections.Counter()
    lock = threading.Lock()
    done = threading.Event()
    # Set once the last restart's new server is up.
    last_started = threading.Event()

    def call():
        n = 0
        while not done.is_set():
            n += 1
            try:
                client.call({}, 'ping', n=n)
                outcome = 'answered'
            except messaging.MessagingTimeout:
                outcome = 'unanswered'
            with lock:
                counts[outcome] += 1
                if outcome == 'answered' and last_started.is_set():
                    counts['answered_after_last_restart'] += 1

    proc = _start(url)
    threads = [threading.Thread(target=call) for _ in range(callers)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(restarts):
            time.sleep(interval)
            proc.terminate()
            proc.wait(timeout=60)
            proc = _start(url)
        last_started.set()
        # A caller whose call the last restart lost waits for its timeout:
        # then it calls the new server too.
        time.sleep(max(interval, timeout + 1) if restarts else interval)
    finally:
        done.set()
        # Each caller ends its last call either way (answered, or after
        # the timeout) before it is joined.
        for thread in threads:
            thread.join()
        proc.terminate()
        proc.wait(timeout=60)
        transport.cleanup()
    return {'restarts': restarts, 'callers': callers, 'timeout': timeout,
            'answered': counts['answered'],
            'answered_after_last_restart':
                counts['answered_after_last_restart'],
            'unanswered': counts['unanswered']}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--url', default='rabbit://guest:guest@127.0.0.1:'
                                         '5672/')
    parser.add_argument('--restarts', type=int, default=5)
    parser.add_argument('--callers', type=int, default=8)
    parser.add_argument('--timeout', type=int, default=8)
    parser.add_argument('--interval', type=float, default=2.0,
                        help='seconds between restarts')
    parser.add_argument('--serve', action='store_true',
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.url)
    print(json.dumps(measure(args.url, args.restarts, args.callers,
                             args.timeout, args.interval), sort_keys=True))
    return 0


if __name__ == '__main__':
    sys.exit(main())
