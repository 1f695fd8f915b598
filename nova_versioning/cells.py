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
"""Nova's cells: the services tables of every cell, read concurrently.

With ``[api_database]/connection`` set, the cells are the rows of the API
database's ``cell_mappings`` table, cell0 (which never has services)
excepted. Each lookup reads the mappings, then queries every cell's
``services`` table at once, each on a thread of its own (threads kept
between lookups), and waits at most ``[cells]/timeout`` for all of them.
The minimum is one prepared statement per cell, read on a connection held
between lookups (:mod:`nova_versioning.db.lean`). Every connection is made with
the same bound as its connect and statement timeouts, so a cell that does
not answer costs at most that long, and no thread is left waiting on it
for much longer.

The minimum across cells is taken as Nova's
``nova.objects.service.get_minimum_version_all_cells`` takes it: per
binary, the smallest non-zero minimum of the cells that answered (0 when
none has a counted record). A cell that does not answer follows
``[cells]/unanswered_cell``: ``hold`` (the default) fails the lookup,
naming the cells, so that a pin is never lifted on partial data (a running
service keeps its last good pins); ``ignore`` leaves them out with a
warning naming each, as Nova does.

Nothing here writes: the API database and the cells are only read.
"""

from concurrent import futures
import dataclasses
import math
import os
import threading
from urllib import parse as urlparse

from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import strutils
import sqlalchemy as sa
import sqlalchemy.engine.url as sa_url

from nova_versioning.conf import cells as cells_conf
from nova_versioning.db import api as db_api
from nova_versioning.db import lean
from nova_versioning.db import models
from nova_versioning import exception

LOG = logging.getLogger(__name__)

CELL0_UUID = '00000000-0000-0000-0000-000000000000'

_MAPPINGS = sa.table('cell_mappings', sa.column('id'), sa.column('uuid'),
                     sa.column('name'), sa.column('database_connection'))


@dataclasses.dataclass(frozen=True)
class Cell(object):
    """A cell of the deployment: its mapping's uuid and name, its URL."""

    uuid: str
    name: str
    url: str = dataclasses.field(repr=False)
    # Why the cell cannot be read at all (a template URL that could not be
    # filled in); None for a usable URL.
    problem: str = dataclasses.field(default=None, compare=False,
                                     repr=False)

    @property
    def label(self):
        """How the cell is named to an operator: its name, else its uuid."""
        return self.name or self.uuid


def enabled(conf):
    """True when [api_database]/connection is set.

    A configuration without the [api_database] group (a service's own
    ConfigOpts that never registered it) reads one database.
    """
    try:
        return bool(conf.api_database.connection)
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        return False


def _masked(url):
    try:
        return sa_url.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return strutils.mask_password(url)


def _connect_args(url, timeout):
    """Driver arguments bounding connect and statements to ``timeout``."""
    seconds = max(1, int(math.ceil(timeout)))
    backend = url.get_backend_name()
    if backend == 'mysql':
        return {'connect_timeout': seconds, 'read_timeout': seconds,
                'write_timeout': seconds}
    if backend == 'postgresql':
        return {'connect_timeout': seconds,
                'options': '-c statement_timeout=%d'
                           % int(timeout * 1000)}
    if backend == 'sqlite':
        return {'timeout': timeout}
    return {}


class Engines(object):
    """One engine per database URL and timeout, made on first use."""

    def __init__(self):
        self._lock = threading.Lock()
        self._engines = {}

    def get(self, url, timeout):
        key = (url, timeout)
        with self._lock:
            engine = self._engines.get(key)
            if engine is None:
                parsed = sa_url.make_url(url)
                engine = sa.create_engine(
                    parsed, pool_pre_ping=True,
                    connect_args=_connect_args(parsed, timeout))
                self._engines[key] = engine
            return engine

    def dispose(self):
        with self._lock:
            engines, self._engines = self._engines, {}
        for engine in engines.values():
            engine.dispose()


ENGINES = Engines()


class Workers(object):
    """The threads that query the cells, kept between lookups.

    Starting a thread per cell on every lookup cost more than the query
    of a cell. A thread stuck on a cell that does not answer is freed by
    the connect and statement timeouts of the cell's engine; meanwhile the
    others serve. A forked child starts threads of its own.
    """

    MAX_WORKERS = 32

    def __init__(self):
        self._lock = threading.Lock()
        self._pool = None
        self._pid = None

    def submit(self, fn, *args):
        pool = self._pool
        if pool is None or self._pid != os.getpid():
            with self._lock:
                if self._pool is None or self._pid != os.getpid():
                    self._pool = futures.ThreadPoolExecutor(
                        max_workers=self.MAX_WORKERS,
                        thread_name_prefix='cell')
                    self._pid = os.getpid()
                pool = self._pool
        return pool.submit(fn, *args)


WORKERS = Workers()


class Query(object):
    """A prepared statement and its parameters, read on the lean path.

    Given to :func:`scatter` instead of a function, it is read on a held
    connection of each cell (:mod:`nova_versioning.db.lean`): one round
    trip, the statement compiled once per engine. ``convert`` makes the
    answer of a cell from its rows.
    """

    def __init__(self, statement, parameters, convert=list):
        self.statement = statement
        self.parameters = parameters
        self.convert = convert


def _run(url, timeout, fn):
    engine = ENGINES.get(url, timeout)
    if isinstance(fn, Query):
        return fn.convert(lean.read_engine(engine, fn.statement,
                                           fn.parameters))
    with engine.connect() as connection:
        return fn(connection)


def _describe_failure(exc):
    text = str(exc).strip().splitlines()
    text = text[0] if text else exc.__class__.__name__
    return text.split(' (Background on this error')[0]


_CELLS_SELECT = sa.select(
    _MAPPINGS.c.uuid, _MAPPINGS.c.name,
    _MAPPINGS.c.database_connection).where(
    _MAPPINGS.c.uuid != CELL0_UUID).order_by(_MAPPINGS.c.id)


def _url_parts(url):
    """The values a cell mapping's URL template may name, from ``url``.

    Nova fills a templated ``database_connection`` (for example
    ``{scheme}://{username}:{password}@cell2-db/{path}``) from the local
    ``[database]/connection``: ``scheme``, ``username``, ``password``,
    ``hostname``, ``port``, ``path`` (without its leading slash), ``query``
    and ``fragment``; with several comma-separated hosts, also
    ``username1``, ``hostname1``, ... for each, numbered from 1.
    """
    parts = urlparse.urlsplit(url)
    values = {'scheme': parts.scheme, 'username': parts.username,
              'password': parts.password, 'hostname': parts.hostname,
              'port': parts.port, 'path': parts.path.lstrip('/'),
              'query': parts.query, 'fragment': parts.fragment}
    if ',' in parts.netloc:
        for number, netloc in enumerate(parts.netloc.split(','), 1):
            one = urlparse.urlsplit('//' + netloc)
            values.update({'username%d' % number: one.username,
                           'password%d' % number: one.password,
                           'hostname%d' % number: one.hostname,
                           'port%d' % number: one.port})
    return values


def cell_url(template, conf):
    """A cell mapping's database URL, its template filled in as Nova does.

    :returns: (url, problem): ``problem`` is None, or one line saying why
        the URL could not be made (the cell is then reported as not
        answering, never read with a wrong URL).
    """
    if '{' not in template:
        return template, None
    try:
        local = conf.database.connection
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        local = None
    if not local:
        return template, ('its database_connection is a template and '
                          '[database]/connection is not set to fill it in')
    try:
        return template.format(**_url_parts(local)), None
    except (KeyError, IndexError, ValueError) as exc:
        return template, ('its database_connection template could not be '
                          'filled in from [database]/connection: %s'
                          % exception.shown(str(exc) or
                                            exc.__class__.__name__,
                                            limit=100))


def get_cells(conf):
    """The cells mapped in the API database, cell0 excepted, by id.

    :raises CellsUnavailable: the API database did not answer in time.
    """
    timeout = conf.cells.timeout
    read = Query(_CELLS_SELECT, {})
    url = conf.api_database.connection
    try:
        rows = WORKERS.submit(_run, url, timeout, read).result(timeout)
    except futures.TimeoutError:
        raise exception.CellsUnavailable(
            what='the API database at [api_database]/connection %s'
                 % exception.shown(_masked(url)),
            reason='no answer within %s s ([cells]/timeout)' % timeout)
    except Exception as exc:
        raise exception.CellsUnavailable(
            what='the API database at [api_database]/connection %s'
                 % exception.shown(_masked(url)),
            reason=exception.shown(_describe_failure(exc), limit=300))
    cells = []
    for row in rows:
        url, problem = cell_url(row.database_connection or '', conf)
        cells.append(Cell(uuid=row.uuid, name=row.name, url=url,
                          problem=problem))
    return cells


def scatter(conf, fn, cells=None):
    """Run ``fn(connection)`` on every cell at once, within the timeout.

    :returns: (answers, failures): {Cell: result} of the cells that
        answered, {Cell: one-line reason} of those that did not.
    """
    cells = get_cells(conf) if cells is None else cells
    timeout = conf.cells.timeout
    answers, failures = {}, {}
    if not cells:
        return answers, failures
    for cell in cells:
        if cell.problem:
            failures[cell] = cell.problem
    pending = {WORKERS.submit(_run, cell.url, timeout, fn): cell
               for cell in cells if not cell.problem}
    done, not_done = futures.wait(pending, timeout=timeout)
    for future in done:
        cell = pending[future]
        try:
            answers[cell] = future.result()
        except Exception as exc:
            failures[cell] = _describe_failure(exc)
    for future in not_done:
        future.cancel()
        failures[pending[future]] = ('no answer within %s s '
                                     '([cells]/timeout)' % timeout)
    # A thread still waiting on a cell ends with its connect or statement
    # timeout; nobody waits for it.
    return answers, failures


def gather(conf, fn, cells=None):
    """:func:`scatter`, then the policy for the cells that did not answer.

    :returns: {Cell: result} of the cells that answered.
    :raises CellsUnanswered: with [cells]/unanswered_cell = hold, when a
        cell did not answer.
    """
    answers, failures = scatter(conf, fn, cells=cells)
    if failures:
        named = '; '.join('cell %s (%s): %s' % (
            cell.label, _masked(cell.url), reason)
            for cell, reason in sorted(failures.items(),
                                       key=lambda item: item[0].label))
        if conf.cells.unanswered_cell == cells_conf.POLICY_IGNORE:
            for cell, reason in failures.items():
                LOG.warning('Cell %(cell)s did not answer and is left out '
                            'of the minimum service versions '
                            '([cells]/unanswered_cell = ignore): %(reason)s',
                            {'cell': cell.label, 'reason': reason})
        else:
            raise exception.CellsUnanswered(cells=named)
    return answers


# -- queries ------------------------------------------------------------------


def _prepared_minimum(shape):
    """The statement of :func:`minimum_versions` (one cell), prepared.

    :param shape: (number of binaries, stale filter or not); parameters
        ``b0``, ``b1``... and ``since``.
    """
    count, stale = shape
    since = sa.bindparam('since', type_=sa.DateTime) if stale else None
    return sa.select(*[db_api._min_version_select(
        sa.bindparam('b%d' % i, type_=sa.String),
        counted_since=since).scalar_subquery().label('m%d' % i)
        for i in range(count)])


_MINIMUM_STATEMENTS = lean.Prepared(_prepared_minimum)


def _minimum_row(rows):
    (row,) = rows
    return [int(value or 0) for value in row]


def minimum_versions(conf, binaries, counted_since=None):
    """{binary: minimum counted version across every cell} (0: none).

    Per binary, the smallest non-zero minimum of the cells, as Nova's
    get_minimum_version_all_cells takes it.
    """
    binaries = list(dict.fromkeys(binaries))
    if not binaries:
        return {}
    params = {'b%d' % i: binary for i, binary in enumerate(binaries)}
    if counted_since is not None:
        params['since'] = counted_since
    read = Query(_MINIMUM_STATEMENTS((len(binaries),
                                      counted_since is not None)),
                 params, convert=_minimum_row)
    result = {binary: 0 for binary in binaries}
    for values in gather(conf, read).values():
        for binary, value in zip(binaries, values):
            if value and (not result[binary] or value < result[binary]):
                result[binary] = value
    return result


class CellRecord(object):
    """A services row of a cell, with the attributes the reports read.

    ``record[column]`` reads any column, as a model row does.
    """

    def __init__(self, cell, row):
        self.cell = cell.label
        self.cell_uuid = cell.uuid
        self._row = dict(row)
        self.host = row['host']
        self.binary = row['binary']
        self.version = int(row['version'] or 0)
        self.forced_down = bool(row['forced_down'])
        self.disabled = bool(row['disabled'])

    def __getitem__(self, name):
        return self._row[name]

    @property
    def last_heartbeat(self):
        for name in ('last_seen_up', 'updated_at', 'created_at'):
            if self._row[name] is not None:
                return self._row[name]
        return None

    def __repr__(self):
        return ('CellRecord(cell=%s, host=%s, binary=%s, version=%s)'
                % (self.cell, self.host, self.binary, self.version))


def _records(conf, clauses, cells=None):
    """The services rows matching every clause, in every cell."""
    table = models.Service.__table__

    def read(connection):
        stmt = sa.select(table).where(*clauses).order_by(
            table.c.binary, table.c.host, table.c.id)
        return [row._mapping for row in connection.execute(stmt)]

    records = []
    for cell, rows in gather(conf, read, cells=cells).items():
        records.extend(CellRecord(cell, row) for row in rows)
    return sorted(records, key=lambda r: (r.binary or '', r.host or '',
                                          r.cell or ''))


def _counted_clause(counted_since):
    return db_api._counted(sa.select(models.Service),
                           counted_since=counted_since).whereclause


def get_all(conf, binary=None, cell=None):
    """The live records of every cell (CellRecord), by binary then host.

    :param cell: only the cell of that name or uuid.
    :raises CellNotFound: no such cell.
    """
    clauses = [models.Service.deleted == 0]
    if binary is not None:
        clauses.append(models.Service.binary == binary)
    cells = None
    if cell is not None:
        known = get_cells(conf)
        cells = [c for c in known if cell in (c.name, c.uuid)]
        if not cells:
            raise exception.CellNotFound(
                cell=cell, cells=', '.join(c.label for c in known) or 'none')
    return _records(conf, clauses, cells=cells)


def counted_older_than(conf, binary, version, counted_since=None):
    """Counted records of ``binary`` below ``version``, in every cell."""
    records = _records(conf, [_counted_clause(counted_since),
                              models.Service.binary == binary,
                              models.Service.version < version])
    return sorted(records, key=lambda r: (r.version, r.host or ''))


def at_minimum_version(conf, binary, counted_since=None):
    """Counted records of ``binary`` at the minimum across every cell."""
    minimum = minimum_versions(conf, [binary], counted_since)[binary]
    if not minimum:
        return []
    return _records(conf, [_counted_clause(counted_since),
                           models.Service.binary == binary,
                           models.Service.version == minimum])
