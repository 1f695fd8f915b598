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
"""Figure 2: a startup storm against one conductor.

A real ``ConductorManager`` endpoint is served (``rpc.get_server``) in
this process over RabbitMQ, in a virtual host of its own (fake:// when no
broker is reachable, said in the results). N client threads start
together, as N services of a fleet restarted at once would, each with no
database access: every remotable call goes through a ``ConductorAPI`` used
as the objects' indirection API, so the conductor runs it. Each client
does what a compute does when it starts, then heartbeats:

1. ``Service.get_by_host_and_binary`` (is there a record?);
2. ``Service.create()`` (registration, guard 1);
3. ``Service.get_minimum_version`` of nova-conductor and of nova-compute
   (resolving ``[upgrade_levels]/conductor = auto`` and ``compute =
   auto``);
4. H heartbeats: ``save()`` of report_count and last_seen_up.

Every minimum-version SELECT is counted with a ``before_cursor_execute``
event on the conductor's engine and attributed to the remotable method the
conductor was running. Ours and the baseline (Nova's behaviour, see
:mod:`nova_versioning.bench.baseline`) run the same storm on fresh
databases, one after the other.
"""

import contextlib
import threading
import time

import oslo_messaging as messaging
from oslo_messaging import conffixture
from oslo_utils import timeutils
import sqlalchemy as sa

from nova_versioning.bench import baseline
from nova_versioning.bench import common
from nova_versioning.conductor import manager as conductor_manager
from nova_versioning.conductor import rpcapi as conductor_rpcapi
from nova_versioning import conf as nv_conf
from nova_versioning import context as nv_context
from nova_versioning import fixtures as nv_fixtures
from nova_versioning import objects
from nova_versioning.objects import base as objects_base
from nova_versioning import rpc

NAME = 'storm'
CONF = nv_conf.CONF
CONDUCTOR_HOST = 'bench-conductor'
TARGET_PER_WINDOW = 2
STEPS = ('get_by_host_and_binary', '_create', 'get_minimum_version',
         '_save')
# The steps whose minimum-version reads go through the cache, which the
# target is about. A registration's guard (_create) reads the minimum
# fresh, inside its write transaction (sharing only a query already under
# way): a cached minimum could admit a service older than a record another
# conductor wrote a moment before. Its reads are counted in their own row.
CACHED_STEPS = ('get_by_host_and_binary', 'get_minimum_version', '_save')
# Preferred database of the conductor: what a deployment runs.
DB_PREFERENCE = ('mysql', 'postgresql', 'sqlite')

_local = threading.local()


class ClientThreads(object):
    """The indirection API, seen only from the storm's client threads.

    The conductor endpoint runs in the same process: its threads must see
    no indirection API, or it would forward every call to itself again
    (see tests/unit/conductor/test_manager.py, CallerOnlyIndirection).
    """

    def __init__(self, api):
        self.api = api

    def __bool__(self):
        return getattr(_local, 'client', False)

    def __getattr__(self, name):
        return getattr(self.api, name)


class TaggingConductor(conductor_manager.ConductorManager):
    """The real endpoint; notes which remotable method each thread runs."""

    def object_class_action_versions(self, context, objname, objmethod,
                                     object_versions, args, kwargs):
        _local.op = objmethod
        try:
            return super().object_class_action_versions(
                context, objname, objmethod, object_versions, args, kwargs)
        finally:
            _local.op = None

    def object_action(self, context, objinst, objmethod, args, kwargs):
        _local.op = objmethod
        try:
            return super().object_action(context, objinst, objmethod, args,
                                         kwargs)
        finally:
            _local.op = None


class Counter(object):
    """Minimum-version SELECTs on the conductor's engine, with times."""

    def __init__(self):
        self.lock = threading.Lock()
        self.queries = []
        self.statements = 0
        self.active = False

    def __call__(self, conn, cursor, statement, parameters, context,
                 executemany):
        if not self.active or common.is_transaction_control(statement):
            return
        op = getattr(_local, 'op', None) or 'other'
        with self.lock:
            self.statements += 1
            if common.is_min_version_query(statement):
                values = (parameters.values() if isinstance(parameters, dict)
                          else parameters or ())
                binaries = ','.join(sorted(
                    v for v in values
                    if isinstance(v, str) and v.startswith('nova-')))
                self.queries.append((time.monotonic(), op, binaries))


def _client(index, barrier, heartbeats, errors):
    _local.client = True
    context = nv_context.get_admin_context()
    host = 'storm-%05d' % index
    try:
        barrier.wait()
        service = objects.Service.get_by_host_and_binary(
            context, host, 'nova-compute')
        if service is None:
            service = objects.Service(context, host=host,
                                      binary='nova-compute',
                                      topic='compute', report_count=0,
                                      disabled=False, forced_down=False)
            service.create()
        objects.Service.get_minimum_version(context, 'nova-conductor')
        objects.Service.get_minimum_version(context, 'nova-compute')
        for _ in range(heartbeats):
            service.report_count += 1
            service.last_seen_up = timeutils.utcnow()
            service.save()
    except Exception as exc:
        errors.append('%s: %s: %s' % (host, type(exc).__name__,
                                      str(exc).splitlines()[0]))


def _storm(mode, backend, transport, profile, tmpdir):
    """One storm on a fresh database; returns its measurements."""
    context = nv_context.get_admin_context()
    with common.provisioned_database(backend, tmpdir) as url:
        db = nv_fixtures.Database(connection=url)
        db.setUp()
        server = None
        try:
            conductor = TaggingConductor(host=CONDUCTOR_HOST, conf=CONF)
            server = rpc.get_server(
                transport, messaging.Target(topic='conductor',
                                            server=CONDUCTOR_HOST),
                [conductor])
            server.start()
            objects.Service(context, host=CONDUCTOR_HOST,
                            binary='nova-conductor', topic='conductor',
                            report_count=0, disabled=False,
                            forced_down=False).create()
            objects.Service.clear_min_version_cache()
            api = conductor_rpcapi.ConductorAPI(transport, conf=CONF)
            counter = Counter()
            sa.event.listen(db.engine, 'before_cursor_execute', counter)
            base_cls = objects_base.NovaVersioningObject
            base_cls.indirection_api = ClientThreads(api)
            errors = []
            count = profile.storm_services
            barrier = threading.Barrier(count + 1)
            args = [(i, barrier, profile.storm_heartbeats, errors)
                    for i in range(count)]
            threads = [threading.Thread(target=_client, args=a, daemon=True)
                       for a in args]
            behaviour = (baseline.nova_behaviour() if mode == 'nova'
                         else contextlib.nullcontext())
            try:
                with behaviour:
                    for thread in threads:
                        thread.start()
                    counter.active = True
                    barrier.wait()
                    started = time.monotonic()
                    for thread in threads:
                        thread.join()
                    elapsed = time.monotonic() - started
                    counter.active = False
            finally:
                base_cls.indirection_api = None
                sa.event.remove(db.engine, 'before_cursor_execute', counter)
            with db.engine.connect() as conn:
                written = conn.execute(sa.text(
                    "SELECT count(*), sum(report_count) FROM services "
                    "WHERE \"binary\" = 'nova-compute' AND deleted = 0"
                    if backend != 'mysql' else
                    "SELECT count(*), sum(report_count) FROM services "
                    "WHERE `binary` = 'nova-compute' AND deleted = 0")
                ).one()
            server_version = common.server_version(db.engine)
        finally:
            if server is not None:
                server.stop()
                server.wait()
            db.cleanUp()
            objects.Service.clear_min_version_cache()
    return {'queries': [(t - started, op, binaries)
                        for t, op, binaries in counter.queries],
            'statements': counter.statements, 'seconds': elapsed,
            'errors': errors, 'records': written[0],
            'heartbeats_written': int(written[1] or 0),
            'server': server_version}


def _per_window(queries, ttl, seconds):
    windows = max(1, int(seconds // ttl) + 1) if ttl else 1
    counts = [0] * windows
    for offset, _op, _binaries in queries:
        index = min(int(offset // ttl), windows - 1) if ttl else 0
        counts[index] += 1
    return counts


@contextlib.contextmanager
def _transport(figure):
    """RabbitMQ in a private virtual host, else fake:// (noted)."""
    with contextlib.ExitStack() as stack:
        try:
            url, vhost = stack.enter_context(common.rabbit_vhost())
            figure.details['transport'] = 'rabbit (private vhost)'
        except common.Unavailable as exc:
            url, vhost = 'fake:/', 'nvbench'
            figure.details['transport'] = 'fake://'
            figure.notes.append('RabbitMQ unavailable (%s): the storm ran '
                                'on fake://, in-process.' % exc)
        messaging_conf = conffixture.ConfFixture(CONF)
        messaging_conf.setUp()
        stack.callback(messaging_conf.cleanUp)
        messaging_conf.transport_url = url
        CONF.set_override('control_exchange', vhost)
        stack.callback(CONF.clear_override, 'control_exchange')
        # A thousand calls queue behind the conductor's 64 threads.
        CONF.set_override('rpc_response_timeout', 600)
        stack.callback(CONF.clear_override, 'rpc_response_timeout')
        transport = rpc.get_transport(CONF)
        stack.callback(transport.cleanup)
        yield transport


def run(profile, backends, tmpdir):
    count = profile.storm_services
    beats = profile.storm_heartbeats
    ttl = CONF.versioning.minimum_version_cache_ttl
    figure = common.Figure(
        NAME, 'Startup storm',
        '%d services without database access start at once against one '
        'conductor (a real ConductorManager served in the benchmark '
        'process; its 64 executor threads run the remotable methods). Each '
        'looks its record up, registers (create), resolves conductor=auto '
        'and compute=auto (two minimum-version lookups) and sends %d '
        'heartbeat(s). Minimum-version SELECTs counted on the conductor\'s '
        'engine; [versioning]/minimum_version_cache_ttl = %d s (the '
        'default); windows are counted from the start of the storm.'
        % (count, beats, ttl),
        "Nova's behaviour: every minimum-version lookup queries (no "
        "cache), and every save() reads the minimum first.",
        '<= %d minimum-version queries per TTL window from the cached '
        'lookups; a registration\'s guard reads fresh, as Nova\'s '
        'Service.create() does, and is counted apart' % TARGET_PER_WINDOW)
    backend = common.choose_database(DB_PREFERENCE, backends, tmpdir,
                                     figure)
    figure.details['database'] = common.BACKEND_LABELS[backend]
    results = {}
    with _transport(figure) as transport:
        for mode in ('ours', 'nova'):
            common.progress('storm: %s, %d services on %s', mode, count,
                            common.BACKEND_LABELS[backend])
            results[mode] = _storm(mode, backend, transport, profile,
                                   tmpdir)
            common.progress('storm %s: %d min queries in %.1f s, %d errors',
                            mode, len(results[mode]['queries']),
                            results[mode]['seconds'],
                            len(results[mode]['errors']))
    figure.details['servers'] = {backend: results['ours']['server']}
    figure.details['queries_ours'] = [
        {'at': round(t, 3), 'method': op, 'binaries': b}
        for t, op, b in results['ours']['queries']]
    ours, nova = results['ours'], results['nova']

    def busiest(case, keep, judged=False, windows=False):
        """Add the row of the busiest TTL window of the queries kept."""
        per_window = {mode: _per_window([q for q in results[mode]['queries']
                                         if keep(q)], ttl,
                                        results[mode]['seconds'])
                      for mode in results}
        mine, theirs = max(per_window['ours']), max(per_window['nova'])
        extra = {}
        if judged:
            extra.update(target='<= %d' % TARGET_PER_WINDOW,
                         met=mine <= TARGET_PER_WINDOW)
        if windows:
            extra.update(windows_ours=per_window['ours'],
                         windows_baseline=per_window['nova'])
        figure.add(case=case, unit='queries', ours=mine, baseline=theirs,
                   ratio=common.speedup(mine, theirs),
                   ratio_text='fewer queries', **extra)

    busiest('minimum-version SELECTs of the cached lookups (record lookup, '
            'pin resolution, heartbeats), most in one TTL window',
            lambda q: q[1] in CACHED_STEPS, judged=True, windows=True)
    busiest('minimum-version SELECTs, registrations included, most in one '
            'TTL window', lambda q: True, windows=True)
    figure.add(case='minimum-version SELECTs, whole storm', unit='queries',
               ours=len(ours['queries']), baseline=len(nova['queries']),
               ratio=common.speedup(len(ours['queries']),
                                    len(nova['queries'])),
               ratio_text='fewer queries')
    labels = {'get_by_host_and_binary': 'record lookup',
              '_create': 'registration (create)',
              'get_minimum_version': 'pin resolution (2 lookups)',
              '_save': 'heartbeats (save)'}
    for step in STEPS:
        mine = sum(1 for _t, op, _b in ours['queries'] if op == step)
        theirs = sum(1 for _t, op, _b in nova['queries'] if op == step)
        figure.add(case='… of which during %s' % labels[step],
                   unit='queries', ours=mine, baseline=theirs,
                   ratio=common.speedup(mine, theirs),
                   ratio_text='fewer queries')
    for binary in ('nova-compute', 'nova-conductor'):
        busiest('… reading %s, most in one TTL window' % binary,
                lambda q, binary=binary: q[2] == binary)
    figure.add(case='SQL statements, whole storm', unit='statements',
               ours=ours['statements'], baseline=nova['statements'],
               ratio=common.speedup(ours['statements'],
                                    nova['statements']),
               ratio_text='fewer statements')
    figure.add(case='storm duration (first call to last answer)', unit='s',
               ours=ours['seconds'], baseline=nova['seconds'],
               ratio=common.speedup(ours['seconds'], nova['seconds']),
               ratio_text='x faster')
    for mode, label in (('ours', 'ours'), ('nova', 'baseline')):
        result = results[mode]
        if result['records'] != count or (
                result['heartbeats_written'] != count * beats):
            figure.notes.append(
                '%s: %d records and %d heartbeats written, expected %d and '
                '%d.' % (label, result['records'],
                         result['heartbeats_written'], count, count * beats))
        if result['errors']:
            figure.notes.append('%s: %d clients failed, first: %s'
                                % (label, len(result['errors']),
                                   result['errors'][0]))
    return figure
