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
from nova_versioning.bench import data
from nova_versioning.bench import nova_real
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


def _without_ids(rows):
    # Ids come from the database: the heartbeat records registered first
    # hold some.
    return [{k: v for k, v in row.items() if k != 'id'} for row in rows]


def _measure_backend_real(figure, backend, profile, rows, tmpdir):
    """Nova's own Service.save() on a table made by Nova's models.

    Both tables hold the same generated rows, grown through the sizes of
    the lookup figure, besides the heartbeat records: ours registered by
    this library, Nova's by Nova's Service.create(). At each size ours and
    Nova's heartbeats take turns round by round.
    """
    label = common.BACKEND_LABELS[backend]
    with common.provisioned_database(backend, tmpdir) as url, \
            common.provisioned_database(backend, tmpdir) as nova_url:
        db = nv_fixtures.Database(connection=url)
        db.setUp()
        nova_engine = sa.create_engine(nova_url)
        nova = None
        try:
            nova = nova_real.NovaProcess(tmpdir, nova_url).start()
            figure.details['nova'] = nova.version
            nova.call('create-tables', url=nova_url, kind='main')
            nova_table = sa.Table('services', sa.MetaData(),
                                  autoload_with=nova_engine)
            context = nv_context.get_admin_context()
            hosts = ['hb-%04d' % i for i in range(profile.heartbeat_services)]
            services = _register(context, profile.heartbeat_services)
            nova.call('register', hosts=hosts, binary='nova-compute')
            figure.details.setdefault('servers', {})[backend] = (
                common.server_version(db.engine))
            done = 0
            for size in profile.lookup_sizes:
                data.insert(db.engine, models_table(), _without_ids(
                    rows[done:size]))
                data.insert(nova_engine, nova_table, _without_ids(
                    rows[done:size]))
                done = size
                data.analyze(db.engine)
                data.analyze(nova_engine)
                _measure_size(figure, backend, label, profile, size, db,
                              context, services, nova)
        finally:
            if nova is not None:
                nova.close()
            nova_engine.dispose()
            db.cleanUp()


def models_table():
    from nova_versioning.db import models
    return models.Service.__table__


def _measure_size(figure, backend, label, profile, size, db, context,
                  services, nova):
    # As a starting service does: resolve its pins (fills the cache).
    objects.Service.clear_min_version_cache()
    objects.Service.get_minimum_version(context, 'nova-compute')
    counter = _Counter()
    times = {mode: [] for mode in MODES}
    nova_counts = {'statements': 0, 'min_queries': 0}
    nova_timer = nova.timer('heartbeat')
    sa.event.listen(db.engine, 'before_cursor_execute', counter)
    try:
        for rnd in range(profile.heartbeat_rounds):
            order = MODES if rnd % 2 == 0 else MODES[::-1]
            for mode in order:
                if mode == 'ours':
                    _round(services, mode, counter, times[mode])
                else:
                    times[mode].extend(nova_timer(None))
                    for key in nova_counts:
                        nova_counts[key] += nova_timer.last[key]
    finally:
        counter.mode = None
        sa.event.remove(db.engine, 'before_cursor_execute', counter)
    beats = {mode: float(len(times[mode])) for mode in MODES}
    rows = '%s rows' % _size_label(size)
    ours_min = counter.min_queries['ours'] / beats['ours']
    nova_min = nova_counts['min_queries'] / beats['nova']
    figure.add(case='%s, %s: minimum-version SELECTs per heartbeat'
               % (label, rows), unit='queries', ours=ours_min,
               baseline=nova_min,
               ratio=common.speedup(ours_min, nova_min),
               ratio_text='fewer queries', target='0', met=ours_min == 0,
               backend=backend, rows=size, heartbeats=int(beats['ours']),
               baseline_kind='nova')
    ours_all = counter.statements['ours'] / beats['ours']
    nova_all = nova_counts['statements'] / beats['nova']
    figure.add(case='%s, %s: SQL statements per heartbeat' % (label, rows),
               unit='statements', ours=ours_all, baseline=nova_all,
               ratio=common.speedup(ours_all, nova_all),
               ratio_text='fewer statements', backend=backend, rows=size,
               baseline_kind='nova')
    ours_t = common.summarize(times['ours'], scale=1000.0)
    nova_t = common.summarize(times['nova'], scale=1000.0)
    figure.add(case='%s, %s: time per heartbeat save()' % (label, rows),
               unit='ms', ours=ours_t['median'], ours_p95=ours_t['p95'],
               baseline=nova_t['median'], baseline_p95=nova_t['p95'],
               ratio=common.speedup(ours_t['median'], nova_t['median']),
               ratio_text='x faster', backend=backend, rows=size,
               baseline_kind='nova')
    common.progress('heartbeat %s %s: min queries/heartbeat ours %.2f, '
                    'Nova %.2f; statements %.2f vs %.2f; %.3f vs %.3f ms',
                    label, rows, ours_min, nova_min, ours_all, nova_all,
                    ours_t['median'], nova_t['median'])


def _size_label(size):
    if size >= 1000 and size % 1000 == 0:
        return '%dk' % (size // 1000)
    return str(size)


def run(profile, backends, tmpdir):
    if nova_real.available():
        return _run_real(profile, backends, tmpdir)
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
    figure.notes.append(
        'Nova is not installed (tox -e bench-nova installs it): the '
        "baseline is this library made to behave as Nova's Service.save() "
        'does (a re-implementation).')
    return figure


def _run_real(profile, backends, tmpdir):
    figure = common.Figure(
        NAME, 'Heartbeat save()',
        'Services save report_count (and last_seen_up), the heartbeat of a '
        'service, %d rounds inside one cache TTL at each table size (the '
        'generated rows of the lookup figure besides the %d heartbeat '
        'records); every SQL statement counted on the engine. Ours and '
        "Nova's take turns round by round."
        % (profile.heartbeat_rounds, profile.heartbeat_services),
        "Nova's own code (in a process of its own): Service.save() after "
        'report_count += 1, as nova.servicegroup.drivers.db does, on a '
        "services table made by Nova's models. Nova's save() reads the "
        'minimum version of its binary (_check_minimum_version) on every '
        'save, uncached.',
        '0 minimum-version queries per heartbeat inside the TTL')
    rows = data.generate(max(profile.lookup_sizes))
    for backend in backends:
        try:
            _measure_backend_real(figure, backend, profile, rows, tmpdir)
        except common.Unavailable as exc:
            figure.skipped.append(str(exc))
    figure.notes.append('Nova %s. Ours saves report_count and '
                        'last_seen_up, Nova saves report_count (its '
                        'service_update sets last_seen_up).'
                        % figure.details.get('nova'))
    return figure
