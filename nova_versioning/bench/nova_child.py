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
"""Nova's side of the benchmarks: Nova's own code, in a process of its own.

Nova and nova_versioning both register options on oslo.config's global
CONF, so the benchmark process never imports Nova: it starts this script
(``python -I nova_child.py``, in an environment where Nova is installed;
nothing of nova_versioning is imported here) and talks to it in JSON
lines, one command per line on stdin, one answer per line on stdout.
:mod:`nova_versioning.bench.nova_real` is the other end.

Commands (``op``):

``start`` (``conf``: a nova.conf)
    Parse Nova's configuration, register Nova's objects; notifications go
    nowhere (the configuration sets the noop driver).
``create-tables`` (``url``, ``kind``: ``main``, ``cell`` or ``api``)
    Nova's ``services`` table (``nova.db.main.models``; ``cell``: with
    ``compute_nodes`` and ``instances``, the tables by which a database
    is known as Nova's), or the API database's ``cell_mappings``
    (``nova.db.api.models``), created from Nova's own model metadata.
``map-cells`` (``cells``: ``[{"name", "uuid", "url"}]``)
    One ``CellMapping`` per cell, created with Nova's object.
``register`` (``hosts``, ``binary``)
    ``objects.Service(...).create()`` for each host, in the main database.
``time`` (``what``, ``n``, ``binary``, ``inner``)
    Time ``n`` samples of ``inner`` calls (seconds per call): ``lookup``
    (the public ``Service.get_minimum_version``, caching off, as Nova
    runs it),
    ``lookup_db`` (``nova.db.main.api.service_get_minimum_version``),
    ``cached`` (``Service.get_minimum_version`` with Nova's cache on and
    filled), ``all_cells`` (``get_minimum_version_all_cells``) or
    ``heartbeat`` (each registered service: ``report_count += 1`` then
    ``save()``, Nova's servicegroup heartbeat; the statements it runs
    are counted). Answers ``{"samples": [...], "answer": ...,
    "statements": N, "min_queries": N}``.
"""

import gc
import json
import sys
import time

_STATE = {}


def start(cmd):
    from nova import config
    from nova import context
    from nova import objects
    from nova import rpc
    from oslo_config import cfg

    objects.register_all()
    config.parse_args(['nova-bench', '--config-file', cmd['conf']],
                      init_rpc=False)
    rpc.init(cfg.CONF)
    _STATE['ctx'] = context.get_admin_context()
    return {'nova': _nova_version()}


def _nova_version():
    try:
        from importlib import metadata
        return metadata.version('nova')
    except Exception:
        return None


def create_tables(cmd):
    import sqlalchemy as sa
    if cmd['kind'] == 'api':
        from nova.db.api import models
        tables = [models.CellMapping.__table__]
    elif cmd['kind'] == 'cell':
        # The tables by which a database is recognised as Nova's.
        from nova.db.main import models
        tables = [models.Service.__table__, models.ComputeNode.__table__,
                  models.Instance.__table__]
    else:
        from nova.db.main import models
        tables = [models.Service.__table__]
    engine = sa.create_engine(cmd['url'])
    try:
        models.BASE.metadata.create_all(engine, tables=tables)
    finally:
        engine.dispose()
    return {'tables': [t.name for t in tables]}


def map_cells(cmd):
    from nova import objects
    for cell in cmd['cells']:
        objects.CellMapping(_STATE['ctx'], uuid=cell['uuid'],
                            name=cell['name'],
                            database_connection=cell['url'],
                            transport_url='none:///').create()
    return {'cells': len(cmd['cells'])}


def register(cmd):
    from nova import objects
    services = _STATE.setdefault('services', [])
    for host in cmd['hosts']:
        service = objects.Service(_STATE['ctx'], host=host,
                                  binary=cmd['binary'],
                                  topic=cmd['binary'][len('nova-'):])
        service.create()
        services.append(service)
    return {'registered': len(services)}


def _engine():
    from nova.db.main import api as main_api
    return main_api.get_engine()


class _Counter(object):

    def __init__(self):
        self.statements = 0
        self.min_queries = 0

    def __call__(self, conn, cursor, statement, parameters, context,
                 executemany):
        text = ' '.join(statement.lower().split())
        if text in ('begin', 'commit', 'rollback'):
            return
        self.statements += 1
        if 'min(services.version)' in text:
            self.min_queries += 1


def time_calls(cmd):
    from nova.db.main import api as main_api
    from nova import objects
    from nova.objects import service as service_obj
    import sqlalchemy as sa

    ctx = _STATE['ctx']
    binary = cmd.get('binary', 'nova-compute')
    what = cmd['what']
    service_cls = objects.Service
    if what == 'lookup':
        service_cls._SERVICE_VERSION_CACHING = False
        service_cls.clear_min_version_cache()

        def call():
            return service_cls.get_minimum_version(ctx, binary)
    elif what == 'lookup_db':
        def call():
            return main_api.service_get_minimum_version(ctx, [binary])
    elif what == 'cached':
        service_cls.enable_min_version_cache()
        service_cls.get_minimum_version(ctx, binary)

        def call():
            return service_cls.get_minimum_version(ctx, binary)
    elif what == 'all_cells':
        def call():
            return service_obj.get_minimum_version_all_cells(ctx, [binary])
    elif what == 'heartbeat':
        service_cls._SERVICE_VERSION_CACHING = False
        return _heartbeats()
    else:
        raise ValueError('unknown measurement %r' % what)
    counter = _Counter()
    engine = _engine() if what != 'all_cells' else None
    if engine is not None:
        sa.event.listen(engine, 'before_cursor_execute', counter)
    samples = []
    answer = None
    inner = int(cmd.get('inner', 1))
    # As the benchmark process times its own side: the collector run
    # before, and off during, the timed calls (common.collector_paused).
    gc.collect()
    collecting = gc.isenabled()
    gc.disable()
    try:
        for _ in range(int(cmd['n'])):
            t0 = time.perf_counter()
            for _ in range(inner):
                answer = call()
            samples.append((time.perf_counter() - t0) / inner)
    finally:
        if collecting:
            gc.enable()
        if engine is not None:
            sa.event.remove(engine, 'before_cursor_execute', counter)
        service_cls._SERVICE_VERSION_CACHING = False
        service_cls.clear_min_version_cache()
    return {'samples': samples, 'answer': answer,
            'statements': counter.statements,
            'min_queries': counter.min_queries}


def _heartbeats():
    import sqlalchemy as sa

    counter = _Counter()
    engine = _engine()
    samples = []
    sa.event.listen(engine, 'before_cursor_execute', counter)
    try:
        for service in _STATE.get('services', []):
            # nova.servicegroup.drivers.db.DbDriver._report_state.
            t0 = time.perf_counter()
            service.report_count += 1
            service.save()
            samples.append(time.perf_counter() - t0)
    finally:
        sa.event.remove(engine, 'before_cursor_execute', counter)
    return {'samples': samples, 'answer': None,
            'statements': counter.statements,
            'min_queries': counter.min_queries}


OPS = {'start': start, 'create-tables': create_tables,
       'map-cells': map_cells, 'register': register, 'time': time_calls}


def main():
    out = sys.stdout
    # Whatever Nova prints goes to stderr: stdout carries the answers.
    sys.stdout = sys.stderr
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        try:
            answer = {'ok': OPS[cmd['op']](cmd)}
        except Exception as exc:
            answer = {'error': '%s: %s' % (type(exc).__name__, exc)}
        out.write(json.dumps(answer, default=str) + '\n')
        out.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main())
