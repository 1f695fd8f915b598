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
"""Figure 4: what an auto-pinned client adds to a cast.

``ComputeAPI.reboot_instance`` on a ``PinnedRPCAPI`` resolved with
``[upgrade_levels]/compute = auto`` (a pike compute holds the cap at 6.4)
against a bare oslo.messaging client casting the same message (version
6.2, same arguments, same serializer) to the same target. A server is
started and stopped first, so the target's queue exists, and no consumer
runs while the casts are timed: on two cores an in-process consumer would
compete with the sender for the CPU and the GIL, and its noise would drown
a difference of a few microseconds. The casts stay in the queue (RabbitMQ:
until the private virtual host is deleted). Batches alternate between the
two clients, on fake:// and on RabbitMQ (a private virtual host).
"""

import contextlib
import statistics
import time

import oslo_messaging as messaging
from oslo_messaging import conffixture
from oslo_utils import uuidutils

from nova_versioning.bench import common
from nova_versioning.compute import rpcapi as compute_rpcapi
from nova_versioning import conf as nv_conf
from nova_versioning import context as nv_context
from nova_versioning import fixtures as nv_fixtures
from nova_versioning import objects
from nova_versioning import rpc

NAME = 'sendpath'
CONF = nv_conf.CONF
HOST = 'bench-compute'
TARGET_OVERHEAD = 0.03
# Fewer batches make a median and quartiles of little meaning.
MIN_BATCHES = 10


class Sink(object):
    """The compute endpoint (only its queue matters: see the module doc)."""

    target = messaging.Target(version='6.5')

    def reboot_instance(self, context, instance_uuid, reboot_type='SOFT'):
        pass


def _records(context):
    """One pike compute and one current: auto caps compute at 6.4."""
    with nv_fixtures.OlderRelease('pike'):
        objects.Service(context, host='old-compute', binary='nova-compute',
                        topic='compute', report_count=0, disabled=False,
                        forced_down=False).create()
    objects.Service(context, host=HOST, binary='nova-compute',
                    topic='compute', report_count=0, disabled=False,
                    forced_down=False).create()


@contextlib.contextmanager
def _transport_for(kind):
    with contextlib.ExitStack() as stack:
        if kind == 'rabbit':
            url, exchange = stack.enter_context(common.rabbit_vhost())
        else:
            url, exchange = 'fake:/', 'nvbench'
        messaging_conf = conffixture.ConfFixture(CONF)
        messaging_conf.setUp()
        stack.callback(messaging_conf.cleanUp)
        messaging_conf.transport_url = url
        CONF.set_override('control_exchange', exchange)
        stack.callback(CONF.clear_override, 'control_exchange')
        # After the messaging fixture: its cleanup resets every override.
        CONF.set_override('compute', 'auto', group='upgrade_levels')
        stack.callback(CONF.clear_override, 'compute',
                       group='upgrade_levels')
        transport = rpc.get_transport(CONF)
        stack.callback(transport.cleanup)
        yield transport


# What a batch is timed with. fake:// never waits: a cast is work of the
# sending thread alone, whose CPU time is its whole cost and is not
# stretched by the other processes of a busy machine. Over RabbitMQ a
# cast writes to a socket: wall time.
CLOCKS = {'fake': (common.CPU_CLOCK, 'CPU time'),
          'rabbit': (time.perf_counter, 'time')}


def _measure(figure, kind, profile, context):
    label = {'fake': 'fake://', 'rabbit': 'RabbitMQ'}[kind]
    with _transport_for(kind) as transport:
        # Declare the target's queue, then stop consuming.
        server = rpc.get_server(transport, messaging.Target(
            topic='compute', server=HOST), [Sink()])
        server.start()
        server.stop()
        server.wait()
        pinned = compute_rpcapi.ComputeAPI(transport, conf=CONF)
        decision = pinned.resolve(context)
        bare = messaging.get_rpc_client(
            transport, messaging.Target(topic='compute', version='6.5'),
            serializer=rpc.RequestContextSerializer())
        instance = uuidutils.generate_uuid()
        batch = profile.send_batch

        def ours():
            for _ in range(batch):
                pinned.reboot_instance(context, HOST, instance)

        def base():
            for _ in range(batch):
                bare.prepare(server=HOST, version='6.2').cast(
                    context, 'reboot_instance', instance_uuid=instance,
                    reboot_type='SOFT')

        samples = common.interleave_batches(
            [('ours', ours), ('bare', base)],
            max(profile.send_reps, MIN_BATCHES), batch,
            clock=CLOCKS[kind][0])
    ours_s = common.summarize(samples['ours'], scale=1e6)
    bare_s = common.summarize(samples['bare'], scale=1e6)
    # Paired: each batch of ours against the baseline batch next to it,
    # which cancels the drift of a shared machine and broker.
    ratios = [o / b for o, b in zip(samples['ours'], samples['bare'])]
    overhead = statistics.median(ratios) - 1.0
    # The spread of the paired ratios: their interquartile range.
    q1 = common.percentile(ratios, 25) - 1.0
    q3 = common.percentile(ratios, 75) - 1.0
    case = ('%s: %s per cast (auto pin at %s; overhead IQR %+.1f%% to '
            '%+.1f%%)' % (label, CLOCKS[kind][1], decision.cap, q1 * 100,
                          q3 * 100))
    figure.add(case=case, unit='us', ours=ours_s['median'],
               ours_p95=ours_s['p95'], baseline=bare_s['median'],
               baseline_p95=bare_s['p95'], ratio=overhead,
               ratio_text='overhead',
               target='<= +%d%%' % (TARGET_OVERHEAD * 100),
               met=overhead <= TARGET_OVERHEAD, transport=kind,
               overhead_us=ours_s['median'] - bare_s['median'],
               overhead_iqr=[q1, q3], batches=len(ratios),
               casts=len(ratios) * batch)
    common.progress('sendpath %s: ours %.1f us, bare %.1f us (%+.1f%%, IQR '
                    '%+.1f%% to %+.1f%%)', label, ours_s['median'],
                    bare_s['median'], overhead * 100, q1 * 100, q3 * 100)


def run(profile, backends, tmpdir):
    figure = common.Figure(
        NAME, 'Send path',
        'Time per cast of ComputeAPI.reboot_instance on an auto-pinned '
        'PinnedRPCAPI, in batches of %d casts, %d batches each, alternating '
        'with the baseline; the target queue exists, no consumer runs '
        'while casts are timed. On fake:// a batch is timed by the CPU '
        'time of the sending thread (a cast there never waits, so that is '
        'its whole cost, whatever else the machine runs); over RabbitMQ by '
        'wall time. The overhead is the median of the ratios '
        'of adjacent batches (ours / baseline) minus one; the interquartile '
        'range of those ratios is given with it.'
        % (profile.send_batch, max(profile.send_reps, MIN_BATCHES)),
        'A bare oslo.messaging RPC client (no version cap, same serializer) '
        'casting the same message at the same version to the same target.',
        '<= 3% overhead per cast (median of the paired batches)')
    context = nv_context.get_admin_context()
    with contextlib.ExitStack() as stack:
        db = nv_fixtures.Database()
        db.setUp()
        stack.callback(db.cleanUp)
        objects.Service.clear_min_version_cache()
        stack.callback(objects.Service.clear_min_version_cache)
        _records(context)
        for kind in ('fake', 'rabbit'):
            try:
                _measure(figure, kind, profile, context)
            except common.Unavailable as exc:
                figure.skipped.append(str(exc))
    return figure
