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
"""Figure: the cost of capping versioned objects on the send path.

A cast carrying an object of 20 fields (one of them a nested object),
sent through a client whose serializer backports it to an older object
manifest (``ReleaseObjectSerializer``), against the same cast through the
plain objects serializer, which sends it as it is. Both on fake://, in
alternating batches; the overhead is the median of the ratios of adjacent
batches minus one. A second row times the serialization alone.
"""

import contextlib
import statistics

import oslo_messaging as messaging
from oslo_messaging import conffixture
from oslo_versionedobjects import fields

from nova_versioning.bench import common
from nova_versioning import conf as nv_conf
from nova_versioning import context as nv_context
from nova_versioning.objects import base as obj_base
from nova_versioning import rpc

NAME = 'objects'
CONF = nv_conf.CONF
TARGET_OVERHEAD = 0.10
TOPIC = 'nvbench-objects'
HOST = 'bench-host'


@obj_base.NovaVersioningObjectRegistry.register_if(False)
class BenchNested(obj_base.FieldHistory, obj_base.NovaVersioningObject):
    # Version 1.0: a, b
    # Version 1.1: c
    VERSION = '1.1'
    fields = {'a': fields.IntegerField(), 'b': fields.StringField(),
              'c': fields.IntegerField()}
    FIELDS_SINCE = {'c': '1.1'}


@obj_base.NovaVersioningObjectRegistry.register_if(False)
class BenchObject(obj_base.FieldHistory, obj_base.NovaVersioningObject):
    """20 fields: 19 of their own (two added in 1.1) and a nested one."""

    # Version 1.0: f00..f16, nested (BenchNested 1.0)
    # Version 1.1: f17, f18; nested is a BenchNested 1.1
    VERSION = '1.1'
    fields = dict(
        [('f%02d' % i, fields.StringField() if i % 2 else
          fields.IntegerField()) for i in range(19)],
        nested=fields.ObjectField('BenchNested'))
    FIELDS_SINCE = {'f17': '1.1', 'f18': '1.1'}


SCOPE = frozenset(['BenchObject', 'BenchNested'])
OLD_MANIFEST = {'BenchObject': '1.0', 'BenchNested': '1.0'}


def sample():
    values = {('f%02d' % i): ('value-%d' % i if i % 2 else i)
              for i in range(19)}
    obj = BenchObject(nested=BenchNested(a=1, b='two', c=3), **values)
    obj.obj_reset_changes(recursive=True)
    return obj


class Sink(object):
    target = messaging.Target(version='1.0')

    def store(self, context, obj):
        pass


@contextlib.contextmanager
def _fake_transport():
    with contextlib.ExitStack() as stack:
        messaging_conf = conffixture.ConfFixture(CONF)
        messaging_conf.setUp()
        stack.callback(messaging_conf.cleanUp)
        messaging_conf.transport_url = 'fake:/'
        transport = rpc.get_transport(CONF)
        stack.callback(transport.cleanup)
        # Declare the target's queue, then stop consuming.
        server = rpc.get_server(transport, messaging.Target(
            topic=TOPIC, server=HOST), [Sink()])
        server.start()
        server.stop()
        server.wait()
        yield transport


def _row(figure, case, samples, target):
    ours = common.summarize(samples['capped'], scale=1e6)
    bare = common.summarize(samples['plain'], scale=1e6)
    overhead = statistics.median(
        o / b for o, b in zip(samples['capped'], samples['plain'])) - 1.0
    figure.add(case=case, unit='us', ours=ours['median'],
               ours_p95=ours['p95'], baseline=bare['median'],
               baseline_p95=bare['p95'], ratio=overhead,
               ratio_text='overhead',
               target=('<= +%d%%' % (TARGET_OVERHEAD * 100)
                       if target else None),
               met=(overhead <= TARGET_OVERHEAD) if target else None,
               overhead_us=ours['median'] - bare['median'])
    common.progress('objects %s: capped %.1f us, plain %.1f us (%+.1f%%)',
                    case, ours['median'], bare['median'], overhead * 100)


def run(profile, backends, tmpdir):
    batch, reps = profile.send_batch, profile.send_reps
    figure = common.Figure(
        NAME, 'Object capping on the send path',
        'Time per cast of an object of 20 fields (one a nested object) '
        'backported to an older object manifest by the client\'s '
        'serializer, on fake://, in batches of %d casts, %d batches each, '
        'timed by the CPU time of the sending thread, '
        'alternating with the baseline; the overhead is the median of the '
        'ratios of adjacent batches (ours / baseline) minus one. The second '
        'row times the serialization alone (no target: it is the part of '
        'the send that capping changes).' % (batch, reps),
        'The same cast through the plain objects serializer, which sends '
        'the object at its own version.',
        '<= 10% overhead per cast')
    context = nv_context.get_admin_context()
    obj = sample()
    capped_serializer = rpc.RequestContextSerializer(
        base=obj_base.ReleaseObjectSerializer(send=OLD_MANIFEST,
                                              scope=SCOPE))
    plain_serializer = rpc.RequestContextSerializer(
        base=obj_base.NovaVersioningObjectSerializer())
    capped_primitive = capped_serializer.serialize_entity(context, obj)
    expected = obj.obj_to_primitive(target_version='1.0',
                                    version_manifest=OLD_MANIFEST)
    if capped_primitive != expected:
        raise AssertionError('the capped serializer did not backport as '
                             'oslo.versionedobjects does')
    with _fake_transport() as transport:
        target = messaging.Target(topic=TOPIC, server=HOST, version='1.0')
        capped = messaging.get_rpc_client(transport, target,
                                          serializer=capped_serializer)
        plain = messaging.get_rpc_client(transport, target,
                                         serializer=plain_serializer)

        def cast_capped():
            for _ in range(batch):
                capped.cast(context, 'store', obj=obj)

        def cast_plain():
            for _ in range(batch):
                plain.cast(context, 'store', obj=obj)

        samples = common.interleave_batches(
            [('capped', cast_capped), ('plain', cast_plain)], reps, batch,
            clock=common.CPU_CLOCK)
        _row(figure, 'fake://: time per cast of the object', samples, True)

    def serialize_capped():
        for _ in range(batch):
            capped_serializer.serialize_entity(context, obj)

    def serialize_plain():
        for _ in range(batch):
            plain_serializer.serialize_entity(context, obj)

    samples = common.interleave_batches(
        [('capped', serialize_capped), ('plain', serialize_plain)], reps,
        batch, clock=common.CPU_CLOCK)
    _row(figure, 'serialization alone', samples, False)
    return figure
