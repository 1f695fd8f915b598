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
"""Figure 3: what a heartbeat costs the database.

Services registered on the backend save ``report_count`` and
``last_seen_up`` (a state-fields save, as ``RPCService`` does every
``report_interval``) in rounds, well inside one cache TTL, with ours and
Nova's behaviour (see :mod:`nova_versioning.bench.baseline`) taking turns
round by round on the same records. Every SQL statement is counted on the
engine (``before_cursor_execute``; the BEGIN oslo.db sends on SQLite is
not counted).
"""

import contextlib
import time

from oslo_utils import timeutils
import sqlalchemy as sa

from nova_versioning.bench import baseline
from nova_versioning.bench import common
from nova_versioning import conf as nv_conf
from nova_versioning import context as nv_context
from nova_versioning import fixtures as nv_fixtures
from nova_versioning import objects

NAME = 'heartbeat'
MODES = ('ours', 'nova')


class _Counter(object):
    """Statements on an engine, attributed to the current mode."""

    def __init__(self):
        self.mode = None
        self.statements = {mode: 0 for mode in MODES}
        self.min_queries = {mode: 0 for mode in MODES}

    def __call__(self, conn, cursor, statement, parameters, context,
                 executemany):
        if self.mode is None or common.is_transaction_control(statement):
            return
        self.statements[self.mode] += 1
        if common.is_min_version_query(statement):
            self.min_queries[self.mode] += 1


def _register(context, count):
    services = []
    for i in range(count):
        service = objects.Service(context, host='hb-%04d' % i,
                                  binary='nova-compute', topic='compute',
                                  report_count=0, disabled=False,
                                  forced_down=False)
        service.create()
        services.append(service)
    objects.Service(context, host='hb-ctl', binary='nova-conductor',
                    topic='conductor', report_count=0, disabled=False,
                    forced_down=False).create()
    return services


def _measure_backend(figure, backend, profile, tmpdir):
    label = common.BACKEND_LABELS[backend]
    ttl = nv_conf.CONF.versioning.minimum_version_cache_ttl
    with common.provisioned_database(backend, tmpdir) as url:
        db = nv_fixtures.Database(connection=url)
        db.setUp()
        try:
            context = nv_context.get_admin_context()
            services = _register(context, profile.heartbeat_services)
            # As a starting service does: resolve its pins (fills the
            # cache within the TTL).
            objects.Service.get_minimum_version(context, 'nova-compute')
            counter = _Counter()
            times = {mode: [] for mode in MODES}
            started = time.monotonic()
            sa.event.listen(db.engine, 'before_cursor_execute', counter)
            try:
                for rnd in range(profile.heartbeat_rounds):
                    order = MODES if rnd % 2 == 0 else MODES[::-1]
                    for mode in order:
                        _round(services, mode, counter, times[mode])
            finally:
                counter.mode = None
                sa.event.remove(db.engine, 'before_cursor_execute', counter)
            elapsed = time.monotonic() - started
            figure.details.setdefault('servers', {})[backend] = (
                common.server_version(db.engine))
        finally:
            db.cleanUp()
    beats = {mode: len(times[mode]) for mode in MODES}
    per = {mode: {'min': counter.min_queries[mode] / float(beats[mode]),
                  'all': counter.statements[mode] / float(beats[mode])}
           for mode in MODES}
    ours_t = common.summarize(times['ours'], scale=1000.0)
    nova_t = common.summarize(times['nova'], scale=1000.0)
    figure.add(case='%s: minimum-version SELECTs per heartbeat' % label,
               unit='queries', ours=per['ours']['min'],
               baseline=per['nova']['min'],
               ratio=common.speedup(per['ours']['min'],
                                    per['nova']['min']),
               ratio_text='fewer queries', target='0',
               met=per['ours']['min'] == 0, backend=backend,
               heartbeats=beats['ours'])
    figure.add(case='%s: SQL statements per heartbeat' % label,
               unit='statements', ours=per['ours']['all'],
               baseline=per['nova']['all'],
               ratio=common.speedup(per['ours']['all'],
                                    per['nova']['all']),
               ratio_text='fewer statements', backend=backend)
    figure.add(case='%s: time per heartbeat save()' % label, unit='ms',
               ours=ours_t['median'], ours_p95=ours_t['p95'],
               baseline=nova_t['median'], baseline_p95=nova_t['p95'],
               ratio=common.speedup(ours_t['median'], nova_t['median']),
               ratio_text='x faster', backend=backend)
    if elapsed >= ttl:
        figure.notes.append('%s: the heartbeats took %.1f s, longer than '
                            'the %d s TTL.' % (label, elapsed, ttl))
    common.progress('heartbeat %s: min queries/heartbeat ours %.2f, Nova '
                    '%.2f; %.3f vs %.3f ms', label, per['ours']['min'],
                    per['nova']['min'], ours_t['median'], nova_t['median'])


def _round(services, mode, counter, times):
    behaviour = (baseline.nova_behaviour() if mode == 'nova'
                 else contextlib.nullcontext())
    with behaviour:
        for service in services:
            service.report_count += 1
            service.last_seen_up = timeutils.utcnow()
            counter.mode = mode
            t0 = time.perf_counter()
            service.save()
            times.append(time.perf_counter() - t0)
            counter.mode = None


def run(profile, backends, tmpdir):
    figure = common.Figure(
        NAME, 'Heartbeat save()',
        'Services save report_count and last_seen_up (the state-fields '
        'save RPCService makes every report_interval), %d rounds inside '
        'one cache TTL; every SQL statement counted on the engine. Ours '
        'and the baseline take turns round by round on the same records.'
        % profile.heartbeat_rounds,
        "Nova's behaviour: Service.save() calls _check_minimum_version(), "
        "a minimum-version read, on every save, and reads are not cached.",
        '0 minimum-version queries per heartbeat inside the TTL')
    for backend in backends:
        try:
            _measure_backend(figure, backend, profile, tmpdir)
        except common.Unavailable as exc:
            figure.skipped.append(str(exc))
    return figure
