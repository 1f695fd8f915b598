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
"""Figure 1: the minimum-version lookup, ours against Nova's query shape.

Per backend, two databases provisioned side by side hold the same rows:

* ours: the schema of this library's migrations, read by the statement
  ``db_api.service_get_minimum_version`` emits (captured from a real call,
  so the figure follows the code);
* Nova's: Nova's services table (no index starting with ``binary``) read
  by Nova's ``SELECT binary, MIN(version) ... GROUP BY binary``.

Both statements run on a raw DBAPI cursor (the same driver path), and both
through an oslo.db reader session (our ``db_api`` call; Nova's statement in
a reader transaction, as Nova's db api runs it). When ``db_api`` has the
stale-service filter (``counted_since``) the filtered statement is timed
too, with a cutoff every row passes. All variants are timed in turn,
rotating who goes first, at each table size; the databases grow from one
size to the next with bulk inserts.
"""

import inspect
import time

from oslo_db.sqlalchemy import enginefacade
import sqlalchemy as sa

from nova_versioning.bench import common
from nova_versioning.bench import data
from nova_versioning.bench import nova_real
from nova_versioning import context as nv_context
from nova_versioning.db import api as db_api
from nova_versioning.db import models
from nova_versioning import fixtures as nv_fixtures
from nova_versioning import objects

NAME = 'lookup'
BINARIES = ['nova-compute']
TARGET_SIZE = 100000
TARGET_RATIO = 20.0
# The public uncached lookup against Nova's DB path: at the target size,
# and at the smallest (the size most deployments have).
SMALL_SIZE = 1000
SMALL_RATIO = 2.0
CACHED_RATIO = 1.0
# Calls per sample of a cached read (a few microseconds each).
CACHED_INNER = 500


def _first_min_query(captured):
    for statement, parameters in captured:
        if common.is_min_version_query(statement):
            return statement, parameters
    raise AssertionError('no minimum-version statement among %r'
                         % [s for s, _p in captured])


class _RawQuery(object):
    """A statement run again and again on one raw DBAPI connection."""

    def __init__(self, engine, statement, parameters):
        self.statement = statement
        self.parameters = parameters
        self._raw = engine.raw_connection()
        self._cursor = self._raw.cursor()

    def __call__(self):
        self._cursor.execute(self.statement, self.parameters)
        return self._cursor.fetchall()

    def close(self):
        self._cursor.close()
        self._raw.rollback()
        self._raw.close()


def _measure_backend(figure, backend, profile, rows, tmpdir, real):
    label = common.BACKEND_LABELS[backend]
    with common.provisioned_database(backend, tmpdir) as ours_url, \
            common.provisioned_database(backend, tmpdir) as nova_url:
        db = nv_fixtures.Database(connection=ours_url)
        db.setUp()
        nova_facade = enginefacade.transaction_context()
        nova_facade.configure(connection=nova_url, max_retries=0)
        nova_engine = nova_facade.writer.get_engine()
        nova = None
        try:
            if real:
                nova = nova_real.NovaProcess(tmpdir, nova_url).start()
                figure.details['nova'] = nova.version
            _measure_sizes(figure, backend, label, profile, rows, db.engine,
                           nova_engine, nova_facade, nova)
        finally:
            if nova is not None:
                nova.close()
            nova_engine.dispose()
            db.cleanUp()


def _stale_filter_supported():
    """Whether db_api has the stale-service filter (counted_since)."""
    params = inspect.signature(
        db_api.service_get_minimum_version).parameters
    return 'counted_since' in params


def _capture(engine, call):
    with common.captured_statements(engine) as captured:
        answer = call()
    statement, parameters = _first_min_query(captured)
    return answer, statement, parameters


def _measure_sizes(figure, backend, label, profile, rows, ours_engine,
                   nova_engine, nova_facade, nova=None):
    context = nv_context.get_admin_context()
    metadata = sa.MetaData()
    if nova is not None:
        # The table Nova's own models make.
        nova.call('create-tables', url=nova_engine.url.render_as_string(
            hide_password=False), kind='main')
        nova_table = sa.Table('services', metadata,
                              autoload_with=nova_engine)
    else:
        nova_table = data.nova_services_table(metadata)
        metadata.create_all(nova_engine)
    ours_table = models.Service.__table__
    figure.details.setdefault('servers', {})[backend] = (
        common.server_version(ours_engine))
    stale = _stale_filter_supported()

    def ours_api():
        return db_api.service_get_minimum_version(context, BINARIES)

    def nova_api():
        # As Nova's db api does: a reader transaction, the statement built
        # at each call.
        with nova_facade.reader.using(context) as session:
            return dict(session.execute(data.nova_minimum_version_select(
                nova_table, BINARIES)).all())

    def ours_stale_api():
        # Every row's heartbeat is after BASE_TIME: all of them count.
        return db_api.service_get_minimum_version(
            context, BINARIES, counted_since=data.BASE_TIME)

    done = 0
    for size in profile.lookup_sizes:
        t0 = time.monotonic()
        data.insert(ours_engine, ours_table, rows[done:size])
        data.insert(nova_engine, nova_table, rows[done:size])
        seed_seconds = time.monotonic() - t0
        done = size
        data.analyze(ours_engine)
        data.analyze(nova_engine)
        expected = data.expected_minimum(rows[:size], BINARIES[0])

        queries = {}
        answers = {}
        answers['ours'], *queries['ours'] = _capture(ours_engine, ours_api)
        answers['nova'], *queries['nova'] = _capture(nova_engine, nova_api)
        if stale:
            answers['ours_stale'], *queries['ours_stale'] = _capture(
                ours_engine, ours_stale_api)
        for who, answer in answers.items():
            if answer.get(BINARIES[0]) != expected:
                raise AssertionError(
                    'wrong minimum at %d rows on %s: %s answered %r, '
                    'expected %r' % (size, label, who, answer, expected))

        raw = {who: _RawQuery(ours_engine if who != 'nova' else
                              nova_engine, *query)
               for who, query in queries.items()}
        variants = [('ours', raw['ours']), ('nova', raw['nova'])]
        if nova is None:
            # With Nova installed its own db api is the baseline of ours
            # (see _measure_public).
            variants += [('ours_api', ours_api), ('nova_api', nova_api)]
        if stale:
            variants.append(('ours_stale', raw['ours_stale']))
        try:
            samples = common.interleave(
                variants, min_reps=profile.lookup_min_reps,
                max_reps=profile.lookup_max_reps,
                budget=profile.lookup_budget)
        finally:
            for query in raw.values():
                query.close()

        stats = {name: common.summarize(values, scale=1000.0)
                 for name, values in samples.items()}
        # Judged on the statements here; the public lookup is judged in
        # _measure_public.
        cases = [('SQL', 'ours', 'nova', True)]
        if nova is None:
            cases.append(('db api call (Nova\'s statement in a reader '
                          'session, re-implemented)', 'ours_api',
                          'nova_api', False))
        if stale:
            cases.append(('SQL with the stale-service filter', 'ours_stale',
                          'nova', True))
        for case, key, base_key, query in cases:
            judged = query and size >= TARGET_SIZE
            ratio = common.speedup(stats[key]['median'],
                                   stats[base_key]['median'])
            figure.add(
                case='%s, %s rows, %s' % (
                    label, common.rows_label(size), case),
                unit='ms', ours=stats[key]['median'],
                ours_p95=stats[key]['p95'],
                baseline=stats[base_key]['median'],
                baseline_p95=stats[base_key]['p95'],
                ratio=ratio, ratio_text='x faster',
                target=('>= %gx' % TARGET_RATIO) if judged else None,
                met=(ratio is not None and ratio >= TARGET_RATIO)
                if judged else None,
                backend=backend, rows=size, variant=key,
                samples=stats[key]['n'])
        plans = figure.details.setdefault('plans', {}).setdefault(
            backend, {})[str(size)] = {}
        for who, (statement, parameters) in queries.items():
            engine = nova_engine if who == 'nova' else ours_engine
            plans[who] = {'sql': statement,
                          'plan': common.explain(engine, statement,
                                                 parameters)}
        figure.details.setdefault('seeding_seconds', {}).setdefault(
            backend, {})[str(size)] = round(seed_seconds, 2)
        common.progress('lookup %s %d rows: %s', label, size, ', '.join(
            '%s %.3f ms' % (name, stats[name]['median'])
            for name, _fn in variants))
        _measure_public(figure, backend, label, profile, size, expected,
                        context, nova_api, nova)


def _measure_public(figure, backend, label, profile, size, expected,
                    context, nova_api, nova):
    """The public Service.get_minimum_version, uncached and cached.

    Against Nova's own code in its child process when Nova is installed,
    else against the re-implementation of Nova's DB path (its statement
    in a reader session) and of its cached read (a dictionary hit).
    """
    binary = BINARIES[0]

    def ours_public():
        return objects.Service.get_minimum_version(context, binary,
                                                   fresh=True)

    def ours_cached():
        return objects.Service.get_minimum_version(context, binary)

    if nova is not None:
        baselines = {'public': nova.timer('lookup'),
                     'db': nova.timer('lookup_db'),
                     'cached': nova.timer('cached', inner=CACHED_INNER)}
    else:
        nova_cached = NovaCachedReadReimplementation(nova_api)
        baselines = {
            'public': nova_real.local_timer(
                lambda: nova_api()[binary]),
            'cached': nova_real.local_timer(
                lambda: nova_cached.get_minimum_version(context, binary),
                inner=CACHED_INNER)}
    ours = {'public': nova_real.local_timer(ours_public),
            'db': nova_real.local_timer(
                lambda: db_api.service_get_minimum_version(
                    context, BINARIES)[binary]),
            'cached': nova_real.local_timer(ours_cached,
                                            inner=CACHED_INNER)}
    ours_cached()
    batches = {'public': 10, 'db': 10, 'cached': 4}
    for key in ('public', 'db', 'cached'):
        if key not in baselines:
            continue
        samples = nova_real.interleave_batches(
            [('ours', ours[key]), ('nova', baselines[key])],
            batch=batches[key],
            min_batches=max(3, profile.lookup_min_reps // 10),
            budget=profile.lookup_budget,
            max_batches=max(3, profile.lookup_max_reps // 10))
        for who, fn in (('ours', ours[key]), ('nova', baselines[key])):
            last = fn.last
            answer = last['answer'] if isinstance(last, dict) else last
            if isinstance(answer, dict):
                answer = answer.get(binary)
            if answer != expected:
                raise AssertionError(
                    'wrong minimum at %d rows on %s: %s %s answered %r, '
                    'expected %r' % (size, label, who, key, answer,
                                     expected))
        stats = {who: common.summarize(values, scale=1000.0)
                 for who, values in samples.items()}
        ratio = common.speedup(stats['ours']['median'],
                               stats['nova']['median'])
        target = None
        if key == 'public' and size >= TARGET_SIZE:
            target = TARGET_RATIO
        elif key == 'public' and size <= SMALL_SIZE:
            target = SMALL_RATIO
        elif key == 'cached':
            target = CACHED_RATIO
        case = {'public': 'public lookup, uncached',
                'db': 'db api call',
                'cached': 'public lookup, cached'}[key]
        figure.add(
            case='%s, %s rows, %s' % (label, common.rows_label(size), case),
            unit='ms', ours=stats['ours']['median'],
            ours_p95=stats['ours']['p95'],
            baseline=stats['nova']['median'],
            baseline_p95=stats['nova']['p95'],
            ratio=ratio, ratio_text='x faster',
            target=('>= %gx' % target) if target else None,
            met=(ratio is not None and ratio >= target) if target else None,
            backend=backend, rows=size, variant='public_' + key,
            baseline_kind='nova' if nova is not None else
            'reimplementation',
            samples=stats['ours']['n'])
        common.progress('lookup %s %d rows, %s: ours %.4f ms, Nova %.4f ms',
                        label, size, case, stats['ours']['median'],
                        stats['nova']['median'])


class NovaCachedReadReimplementation(object):
    """Nova's cached Service.get_minimum_version, re-implemented.

    Without Nova installed: as Nova's get_minimum_version calls
    get_minimum_version_multi (both remotable class methods, run locally),
    which checks the binaries' prefix, then answers from a class-level
    dictionary when every binary is in it (no TTL).
    """

    _MIN_VERSION_CACHE = {}

    def __init__(self, load):
        self._load = load

    def get_minimum_version_multi(self, context, binaries):
        if not all(binary.startswith('nova-') for binary in binaries):
            raise ValueError('Invalid binary prefix')
        if any(binary not in self._MIN_VERSION_CACHE for binary in binaries):
            versions = self._load()
            self._MIN_VERSION_CACHE.update(versions)
        else:
            versions = {binary: self._MIN_VERSION_CACHE[binary]
                        for binary in binaries}
        return int(min(versions.values())) if versions else 0

    def get_minimum_version(self, context, binary):
        return self.get_minimum_version_multi(context, [binary])


def run(profile, backends, tmpdir):
    figure = common.Figure(
        NAME, 'Minimum-version lookup',
        'Minimum version of nova-compute over a realistic services table '
        '(about 10% soft-deleted, 2% forced down, a few conductors and '
        'schedulers). Median and p95 of each statement on a raw DBAPI '
        'cursor ("SQL"), of the db api call, and of the public '
        'Service.get_minimum_version, uncached and cached. "Stale-service '
        'filter": our statement with counted_since set (a cutoff every row '
        'passes) against the same Nova statement.',
        "Nova: the same rows in Nova's services table (its indexes only: "
        "unique (host, topic, deleted), unique (host, binary, deleted), "
        "uuid), read by Nova's SELECT binary, MIN(version) ... WHERE binary "
        "IN (...) AND deleted = 0 AND forced_down = false GROUP BY binary; "
        "with Nova installed, by Nova's own code (see the notes).",
        'public lookup >= %gx faster at %d rows and >= %gx at %d rows; '
        'cached >= %gx; statements >= %gx at %d rows'
        % (TARGET_RATIO, TARGET_SIZE, SMALL_RATIO, SMALL_SIZE, CACHED_RATIO,
           TARGET_RATIO, TARGET_SIZE))
    rows = data.generate(max(profile.lookup_sizes))
    real = nova_real.available()
    for backend in backends:
        try:
            _measure_backend(figure, backend, profile, rows, tmpdir, real)
        except common.Unavailable as exc:
            figure.skipped.append(str(exc))
            common.progress('lookup: skipped %s: %s', backend, exc)
    figure.notes.append(
        '"SQL": each statement alone on a raw DBAPI cursor (ours against '
        'Nova\'s statement), judged at %d rows. "public lookup, uncached": '
        'everything a caller pays (object method, database read, '
        'connection), judged at %d rows (>= %gx) and at %d rows (>= %gx); '
        '"public lookup, cached": a cache hit, judged >= %gx.'
        % (TARGET_SIZE, TARGET_SIZE, TARGET_RATIO, SMALL_SIZE, SMALL_RATIO,
           CACHED_RATIO))
    if real:
        figure.notes.append(
            "\"public lookup\" and \"db api call\" rows: Nova's own code "
            '(nova %s, in a process of its own, native threads) on a '
            "services table made by Nova's models: Service.get_minimum_"
            'version with its cache off (uncached) and on (cached), and '
            'nova.db.main.api.service_get_minimum_version. Ours: '
            'Service.get_minimum_version(fresh=True), db_api.service_get_'
            'minimum_version, and the cached Service.get_minimum_version.'
            % figure.details.get('nova'))
    else:
        figure.notes.append(
            'Nova is not installed (tox -e bench-nova installs it): the '
            '"public lookup" baselines are re-implementations: Nova\'s '
            'statement in an oslo.db reader session (uncached) and Nova\'s '
            'dictionary hit behind two method calls (cached).')
    if max(profile.lookup_sizes) < TARGET_SIZE:
        figure.notes.append('This run stopped below %d rows: the target '
                            'is not judged.' % TARGET_SIZE)
    return figure
