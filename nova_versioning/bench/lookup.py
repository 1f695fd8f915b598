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
from nova_versioning import context as nv_context
from nova_versioning.db import api as db_api
from nova_versioning.db import models
from nova_versioning import fixtures as nv_fixtures

NAME = 'lookup'
BINARIES = ['nova-compute']
TARGET_SIZE = 100000
TARGET_RATIO = 20.0


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


def _measure_backend(figure, backend, profile, rows, tmpdir):
    label = common.BACKEND_LABELS[backend]
    with common.provisioned_database(backend, tmpdir) as ours_url, \
            common.provisioned_database(backend, tmpdir) as nova_url:
        db = nv_fixtures.Database(connection=ours_url)
        db.setUp()
        nova_facade = enginefacade.transaction_context()
        nova_facade.configure(connection=nova_url, max_retries=0)
        nova_engine = nova_facade.writer.get_engine()
        try:
            _measure_sizes(figure, backend, label, profile, rows, db.engine,
                           nova_engine, nova_facade)
        finally:
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
                   nova_engine, nova_facade):
    context = nv_context.get_admin_context()
    metadata = sa.MetaData()
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
        variants = [('ours', raw['ours']), ('nova', raw['nova']),
                    ('ours_api', ours_api), ('nova_api', nova_api)]
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
        # The target is about the query: judged on the statements, not on
        # the session path, whose fixed cost (about 1 ms a call, paid by
        # both) is reported beside it.
        cases = [('SQL', 'ours', 'nova', True),
                 ('through an oslo.db session', 'ours_api', 'nova_api',
                  False)]
        if stale:
            cases.append(('SQL with the stale-service filter', 'ours_stale',
                          'nova', True))
        for case, key, base_key, query in cases:
            judged = query and size >= TARGET_SIZE
            ratio = common.speedup(stats[key]['median'],
                                   stats[base_key]['median'])
            figure.add(
                case='%s, %s rows, %s' % (label, _rows(size), case),
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


def _rows(size):
    if size >= 1000 and size % 1000 == 0:
        return '%dk' % (size // 1000)
    return str(size)


def run(profile, backends, tmpdir):
    figure = common.Figure(
        NAME, 'Minimum-version lookup',
        'Minimum version of nova-compute over a realistic services table '
        '(about 10% soft-deleted, 2% forced down, a few conductors and '
        'schedulers). Median and p95 of each statement on a raw DBAPI '
        'cursor ("SQL"), and through an oslo.db reader session (our '
        'db_api.service_get_minimum_version call; Nova\'s statement in a '
        'reader transaction). "Stale-service filter": our statement with '
        'counted_since set (a cutoff every row passes) against the same '
        'Nova statement.',
        "Nova's query shape: the same rows in a table with Nova's indexes "
        "only (unique (host, topic, deleted), unique (host, binary, "
        "deleted), uuid), read by Nova's SELECT binary, MIN(version) ... "
        "WHERE binary IN (...) AND deleted = 0 AND forced_down = false "
        "GROUP BY binary.",
        '>= %gx faster at %d rows' % (TARGET_RATIO, TARGET_SIZE))
    rows = data.generate(max(profile.lookup_sizes))
    for backend in backends:
        try:
            _measure_backend(figure, backend, profile, rows, tmpdir)
        except common.Unavailable as exc:
            figure.skipped.append(str(exc))
            common.progress('lookup: skipped %s: %s', backend, exc)
    figure.notes.append(
        'The target is judged on the statements ("SQL" rows). "Through an '
        'oslo.db session" adds what every call pays on both sides (session, '
        'transaction, connection checkout, statement cache lookup: about '
        '1 ms), so its ratio is smaller; it is reported, not judged.')
    if max(profile.lookup_sizes) < TARGET_SIZE:
        figure.notes.append('This run stopped below %d rows: the target '
                            'is not judged.' % TARGET_SIZE)
    return figure
