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
"""Real Nova as a baseline, when it is installed (``tox -e bench-nova``).

Nova runs in a child process (:mod:`nova_versioning.bench.nova_child`),
never in the benchmark process: both register options on oslo.config's
global CONF. :class:`NovaProcess` starts it with a configuration of its
own and sends it commands; its tables are made by Nova's own models.
Timings come back as per-call samples, which the figures interleave
batch by batch with ours (:func:`interleave_batches`).
"""

import importlib.util
import json
import os
import subprocess
import sys
import time

from oslo_utils import uuidutils

from nova_versioning.bench import common

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                     'nova_child.py')

# Seconds a command may take (Nova's first import is slow).
COMMAND_TIMEOUT = 600


class NovaError(Exception):
    """The child process reported an error, or died."""


def available():
    """Nova is importable in this environment (not imported here)."""
    try:
        return importlib.util.find_spec('nova') is not None
    except (ImportError, ValueError):
        return False


def conf_text(main_url, api_url=None):
    lines = ['[DEFAULT]', 'transport_url = fake://', '',
             '[database]', 'connection = %s' % main_url, '']
    if api_url:
        lines += ['[api_database]', 'connection = %s' % api_url, '']
    lines += ['[oslo_messaging_notifications]', 'driver = noop', '']
    return '\n'.join(lines)


class NovaProcess(object):
    """A child process running Nova's code on the given databases."""

    def __init__(self, tmpdir, main_url, api_url=None):
        self.conf = os.path.join(tmpdir, 'nova-%s.conf'
                                 % uuidutils.generate_uuid()[:8])
        with open(self.conf, 'w') as f:
            f.write(conf_text(main_url, api_url))
        self.stderr = open(self.conf + '.log', 'w')
        env = dict(os.environ)
        # Nova's native-threads mode: its scatter-gather runs on real
        # threads, as ours does, and nothing is monkey-patched.
        env['OS_NOVA_DISABLE_EVENTLET_PATCHING'] = 'true'
        self.proc = subprocess.Popen(
            [sys.executable, '-I', CHILD], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.stderr, text=True,
            env=env)
        self.version = None

    def call(self, op, **kwargs):
        kwargs['op'] = op
        self.proc.stdin.write(json.dumps(kwargs, default=str) + '\n')
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise NovaError('the Nova process ended: %s' % self._log_tail())
        answer = json.loads(line)
        if 'error' in answer:
            raise NovaError('%s: %s' % (op, answer['error']))
        return answer['ok']

    def start(self):
        self.version = self.call('start', conf=self.conf)['nova']
        return self

    def _log_tail(self):
        self.stderr.flush()
        with open(self.stderr.name) as f:
            return f.read()[-2000:]

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def timer(self, what, binary='nova-compute', inner=1):
        """A batch function: n -> samples, timed in the child."""
        def batch(n):
            answer = self.call('time', what=what, n=n, binary=binary,
                               inner=inner)
            batch.last = answer
            return answer['samples']
        batch.last = None
        return batch


def local_timer(fn, inner=1):
    """A batch function of a callable of this process.

    Each sample is the mean of ``inner`` calls (for calls of a few
    microseconds, as the child times them).
    """
    def batch(n):
        samples = []
        with common.collector_paused():
            for _ in range(n):
                t0 = time.perf_counter()
                for _ in range(inner):
                    batch.last = fn()
                samples.append((time.perf_counter() - t0) / inner)
        return samples
    batch.last = None
    return batch


def interleave_batches(variants, batch, min_batches, budget, max_batches):
    """Batches of each variant in turn, rotating who goes first.

    :param variants: list of (name, batch function: n -> list of seconds).
    :returns: dict name -> list of seconds (one per call).
    """
    for _name, fn in variants:
        fn(2)
    samples = {name: [] for name, _fn in variants}
    start = time.perf_counter()
    rep = 0
    while rep < max_batches and (rep < min_batches or
                                 time.perf_counter() - start < budget):
        shift = rep % len(variants)
        for name, fn in variants[shift:] + variants[:shift]:
            samples[name].extend(fn(batch))
        rep += 1
    return samples
