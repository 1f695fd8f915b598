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
"""The all-cells minimum-version lookup, against Nova's own.

Per backend: an API database whose ``cell_mappings`` (made by Nova's
models and Nova's ``CellMapping.create()``) map cell0 and four cells, each
a database with Nova's tables (Nova's models) holding its own generated
rows. Nova's ``get_minimum_version_all_cells`` runs in a child process
(:mod:`nova_versioning.bench.nova_real`), ours
(``Service.get_minimum_version(fresh=True)`` with ``[api_database]``
set, :mod:`nova_versioning.cells`) in this one, on the same databases,
batches taking turns: first on Nova's schema as it is, then with the
opt-in index that ``nova-versioning-manage db index create`` adds to each
cell (``migration.nova_index``, the function the command runs).

Needs Nova installed (``tox -e bench-nova``); skipped otherwise.
"""

import contextlib

from oslo_utils import uuidutils

from nova_versioning.bench import common
from nova_versioning.bench import data
from nova_versioning.bench import nova_real
from nova_versioning.cells import CELL0_UUID
from nova_versioning import conf as nv_conf
from nova_versioning import context as nv_context
from nova_versioning.db import migration
from nova_versioning import objects

import sqlalchemy as sa

NAME = 'allcells'
CELLS = 4
BINARY = 'nova-compute'
TARGET_RATIO = 10.0


def _cell_rows(profile):
    # 25k rows per cell in a full run (the lookup figure's 100k spread
    # over four cells).
    return max(profile.lookup_sizes) // CELLS


def _measure_backend(figure, backend, profile, tmpdir):
    label = common.BACKEND_LABELS[backend]
    size = _cell_rows(profile)
    with contextlib.ExitStack() as stack:
        api_url = stack.enter_context(
            common.provisioned_database(backend, tmpdir))
        cell0_url = stack.enter_context(
            common.provisioned_database(backend, tmpdir))
        cell_urls = [stack.enter_context(
            common.provisioned_database(backend, tmpdir))
            for _ in range(CELLS)]
        nova = stack.enter_context(
            nova_real.NovaProcess(tmpdir, cell_urls[0], api_url=api_url))
        figure.details['nova'] = nova.version
        nova.call('create-tables', url=api_url, kind='api')
        for url in [cell0_url] + cell_urls:
            nova.call('create-tables', url=url, kind='cell')
        mapped = [{'name': 'cell0', 'uuid': CELL0_UUID, 'url': cell0_url}]
        mapped += [{'name': 'cell%d' % (i + 1),
                    'uuid': uuidutils.generate_uuid(), 'url': url}
                   for i, url in enumerate(cell_urls)]
        nova.call('map-cells', cells=mapped)
        minimums = []
        engines = []
        stack.callback(lambda: [e.dispose() for e in engines])
        for i, url in enumerate(cell_urls):
            engine = sa.create_engine(url)
            engines.append(engine)
            rows = data.generate(size, seed=data.SEED + i)
            table = sa.Table('services', sa.MetaData(), autoload_with=engine)
            data.insert(engine, table, rows)
            data.analyze(engine)
            minimums.append(data.expected_minimum(rows, BINARY))
        expected = min(m for m in minimums if m) if any(minimums) else 0
        figure.details.setdefault('servers', {})[backend] = (
            common.server_version(engines[0]))
        conf = nv_conf.CONF
        conf.set_override('connection', api_url, group='api_database')
        stack.callback(conf.clear_override, 'connection',
                       group='api_database')
        objects.Service.clear_min_version_cache()
        stack.callback(objects.Service.clear_min_version_cache)
        context = nv_context.get_admin_context()

        def ours():
            return objects.Service.get_minimum_version(context, BINARY,
                                                       fresh=True)

        for indexed in (False, True):
            if indexed:
                for engine in engines:
                    migration.nova_index(create=True, engine=engine)
                    data.analyze(engine)
            _compare(figure, backend, label, profile, size, expected,
                     ours, nova, indexed)


def _compare(figure, backend, label, profile, size, expected, ours, nova,
             indexed):
    ours_timer = nova_real.local_timer(ours)
    nova_timer = nova.timer('all_cells')
    samples = nova_real.interleave_batches(
        [('ours', ours_timer), ('nova', nova_timer)], batch=5,
        min_batches=max(3, profile.lookup_min_reps // 5),
        budget=profile.lookup_budget * 2,
        max_batches=max(3, profile.lookup_max_reps // 5))
    answers = {'ours': ours_timer.last,
               'nova': nova_timer.last['answer']}
    for who, answer in answers.items():
        if answer != expected:
            raise AssertionError('%s: %s answered %r, expected %r'
                                 % (label, who, answer, expected))
    stats = {who: common.summarize(values, scale=1000.0)
             for who, values in samples.items()}
    ratio = common.speedup(stats['ours']['median'], stats['nova']['median'])
    case = '%s, %d cells x %s rows, %s' % (
        label, CELLS, common.rows_label(size),
        'with the opt-in index (db index create)' if indexed
        else "Nova's schema as it is")
    figure.add(case=case, unit='ms', ours=stats['ours']['median'],
               ours_p95=stats['ours']['p95'],
               baseline=stats['nova']['median'],
               baseline_p95=stats['nova']['p95'], ratio=ratio,
               ratio_text='x faster',
               target=('>= %gx' % TARGET_RATIO) if indexed else None,
               met=(ratio is not None and ratio >= TARGET_RATIO)
               if indexed else None,
               backend=backend, rows=size, cells=CELLS, indexed=indexed,
               samples=stats['ours']['n'])
    common.progress('allcells %s: ours %.3f ms, Nova %.3f ms', case,
                    stats['ours']['median'], stats['nova']['median'])


def run(profile, backends, tmpdir):
    figure = common.Figure(
        NAME, 'All-cells minimum-version lookup',
        'Minimum version of nova-compute across every cell of a deployment: '
        'an API database mapping cell0 and %d cells, each with %d generated '
        'rows (the lookup figure\'s rows, a different seed per cell). '
        'Ours: Service.get_minimum_version(fresh=True) with '
        '[api_database]/connection set (the cells queried concurrently, '
        'prepared statements on held connections). Median and p95 per '
        'lookup.' % (CELLS, _cell_rows(profile)),
        "Nova's own get_minimum_version_all_cells (in a process of its "
        'own, native threads), on the same databases: tables made by '
        "Nova's models, cells mapped by Nova's CellMapping.create().",
        '>= %gx faster with the opt-in index' % TARGET_RATIO)
    if not nova_real.available():
        figure.skipped.append('Nova is not installed: run tox -e '
                              'bench-nova (the baseline is Nova\'s own '
                              'code only)')
        return figure
    for backend in backends:
        try:
            _measure_backend(figure, backend, profile, tmpdir)
        except common.Unavailable as exc:
            figure.skipped.append(str(exc))
    figure.notes.append('Nova %s. Both sides leave cell0 out of the '
                        'minimum (Nova queries it and ignores its 0).'
                        % figure.details.get('nova'))
    return figure
