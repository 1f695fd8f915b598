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
"""What every figure shares: statistics, interleaved timing, result rows,
databases provisioned through oslo.db, RabbitMQ virtual hosts.
"""

import contextlib
import gc
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse

from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import provision
from oslo_utils import uuidutils
import sqlalchemy as sa

BACKENDS = ('sqlite', 'mysql', 'postgresql')
BACKEND_LABELS = {'sqlite': 'SQLite', 'mysql': 'MariaDB',
                  'postgresql': 'PostgreSQL'}
DEFAULT_TRANSPORT_URL = 'rabbit://guest:guest@127.0.0.1:5672/'


class Unavailable(Exception):
    """A server the figure needs cannot be reached: skipped, not failed."""


def progress(message, *args):
    """One line of progress on stderr (the results go to files)."""
    sys.stderr.write('[bench %s] %s\n' % (time.strftime('%H:%M:%S'),
                                          message % args if args
                                          else message))
    sys.stderr.flush()


# -- statistics -----------------------------------------------------------

def rows_label(size):
    """A table size as the results name it: "1k", "100k", or the count."""
    if size >= 1000 and size % 1000 == 0:
        return '%dk' % (size // 1000)
    return str(size)


def percentile(samples, pct):
    """Linear-interpolated percentile (pct in 0..100) of the samples."""
    data = sorted(samples)
    if not data:
        return None
    if len(data) == 1:
        return data[0]
    rank = (len(data) - 1) * pct / 100.0
    low = int(rank)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (rank - low)


def summarize(samples, scale=1.0):
    """median, p95, min, mean and n of samples, multiplied by scale."""
    if not samples:
        return {'n': 0, 'median': None, 'p95': None, 'min': None,
                'mean': None}
    return {'n': len(samples),
            'median': statistics.median(samples) * scale,
            'p95': percentile(samples, 95) * scale,
            'min': min(samples) * scale,
            'mean': statistics.fmean(samples) * scale}


#: The CPU time of the calling thread. For work that never waits (a cast
#: into an in-process transport, serialization), it is the whole cost of
#: the work, and unlike wall time it does not count the moments another
#: process of a busy machine had the CPU.
CPU_CLOCK = time.thread_time


@contextlib.contextmanager
def collector_paused():
    """Run the garbage collector now, then keep it off inside.

    What ``timeit`` does while it times: a collection costs in proportion
    to all that the process holds, not to what the timed code did, and
    falls on whichever call happens to allocate when one is due. Both
    sides of a comparison are timed so, and the garbage of a timed call
    is collected before the next one starts, untimed.
    """
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def interleave(variants, min_reps, max_reps, budget, warmup=2,
               clock=time.perf_counter, pause_collector=False):
    """Time each variant in turn, rotating who goes first.

    :param variants: list of (name, callable); one repetition calls each
        callable once and times it.
    :param budget: seconds after which no new repetition starts once
        min_reps are done.
    :param clock: what is read before and after each call: wall time
        (the default), or :data:`CPU_CLOCK`.
    :param pause_collector: time each call inside
        :func:`collector_paused` (for calls that each run a batch: a
        collection per call would weigh on calls of a few microseconds).
    :returns: dict name -> list of seconds.
    """
    names = [name for name, _fn in variants]
    for _ in range(warmup):
        for _name, fn in variants:
            fn()
    samples = {name: [] for name in names}
    start = time.perf_counter()
    rep = 0
    while rep < max_reps and (rep < min_reps or
                              time.perf_counter() - start < budget):
        shift = rep % len(variants)
        for name, fn in variants[shift:] + variants[:shift]:
            with (collector_paused() if pause_collector
                  else contextlib.nullcontext()):
                t0 = clock()
                fn()
                samples[name].append(clock() - t0)
        rep += 1
    return samples


def interleave_batches(variants, reps, batch, clock=time.perf_counter):
    """:func:`interleave` of batches: reps repetitions after one warm-up.

    :param variants: list of (name, callable); each callable runs
        ``batch`` operations.
    :param clock: as for :func:`interleave`.
    :returns: dict name -> list of seconds per operation, one per
        repetition, so that the i-th of every list were measured side by
        side. Each batch is timed with the garbage collector paused
        (:func:`collector_paused`).
    """
    samples = interleave(variants, reps, reps, 0, warmup=1, clock=clock,
                         pause_collector=True)
    return {name: [seconds / batch for seconds in values]
            for name, values in samples.items()}


# -- result rows ----------------------------------------------------------

def row(case, unit, ours, baseline, ours_p95=None, baseline_p95=None,
        ratio=None, ratio_text=None, target=None, met=None, **extra):
    """One line of a figure's table.

    ``ratio`` is a number (its meaning in ``ratio_text``: "x faster",
    "fewer queries", "overhead"), ``met`` True, False or None when the
    row has no target.
    """
    result = {'case': case, 'unit': unit, 'ours': ours,
              'ours_p95': ours_p95, 'baseline': baseline,
              'baseline_p95': baseline_p95, 'ratio': ratio,
              'ratio_text': ratio_text, 'target': target, 'met': met}
    result.update(extra)
    return result


def speedup(ours, baseline):
    if ours is None or baseline is None or ours <= 0:
        return None
    return baseline / ours


class Figure(object):
    """Rows, notes and details of one figure, as the report writes them."""

    def __init__(self, name, title, description, baseline, target):
        self.name = name
        self.title = title
        self.description = description
        self.baseline = baseline
        self.target = target
        self.rows = []
        self.notes = []
        self.skipped = []
        self.errors = []
        self.details = {}
        self.seconds = None

    def add(self, **kwargs):
        self.rows.append(row(**kwargs))

    def to_dict(self):
        return {'name': self.name, 'title': self.title,
                'description': self.description,
                'baseline': self.baseline, 'target': self.target,
                'rows': self.rows, 'notes': self.notes,
                'skipped': self.skipped, 'errors': self.errors,
                'details': self.details, 'seconds': self.seconds}


# -- databases ------------------------------------------------------------

@contextlib.contextmanager
def provisioned_database(backend, tmpdir):
    """A new empty database on backend; yields its URL, drops it after.

    MariaDB and PostgreSQL databases are created through oslo.db's
    provision module as the tests do (openstack_citest, or
    OS_TEST_DBAPI_ADMIN_CONNECTION); SQLite is a file in tmpdir.
    """
    ident = 'nvbench_' + uuidutils.generate_uuid(dashed=False)[:12]
    if backend == 'sqlite':
        path = os.path.join(tmpdir, ident + '.sqlite')
        try:
            yield 'sqlite:///' + path
        finally:
            if os.path.exists(path):
                os.unlink(path)
        return
    try:
        provisioner = provision.Backend.backend_for_database_type(backend)
    except db_exc.BackendNotAvailable as exc:
        raise Unavailable('%s is not available: %s'
                          % (BACKEND_LABELS[backend], exc))
    provisioner.create_named_database(ident)
    try:
        yield provisioner.provisioned_database_url(ident).render_as_string(
            hide_password=False)
    finally:
        provisioner.drop_named_database(ident, conditional=True)


def choose_database(preference, backends, tmpdir, figure):
    """The first backend of preference (among backends) that is reachable.

    Unreachable ones are listed in the figure's skipped notes.
    """
    reasons = []
    for backend in preference:
        if backend not in backends:
            continue
        try:
            with provisioned_database(backend, tmpdir):
                figure.skipped.extend(reasons)
                return backend
        except Unavailable as exc:
            reasons.append(str(exc))
    raise Unavailable('no database reachable: %s' % '; '.join(reasons))


def server_version(engine):
    """The database server's version string."""
    with engine.connect() as conn:
        if engine.dialect.name == 'sqlite':
            return 'SQLite ' + conn.exec_driver_sql(
                'select sqlite_version()').scalar()
        if engine.dialect.name == 'mysql':
            return conn.exec_driver_sql('select version()').scalar()
        return conn.exec_driver_sql('show server_version').scalar()


@contextlib.contextmanager
def captured_statements(engine):
    """Yield a list that receives (statement, parameters) of each SQL."""
    captured = []

    def listener(conn, cursor, statement, parameters, context,
                 executemany):
        captured.append((statement, parameters))

    sa.event.listen(engine, 'before_cursor_execute', listener)
    try:
        yield captured
    finally:
        sa.event.remove(engine, 'before_cursor_execute', listener)


def is_transaction_control(statement):
    """BEGIN/COMMIT/ROLLBACK sent as statements (oslo.db on SQLite)."""
    return statement.strip().upper() in ('BEGIN', 'COMMIT', 'ROLLBACK')


def is_min_version_query(statement):
    """A minimum-version read of the services table.

    ``MIN(services.version)``, or (db_api's form under the stale-service
    filter) the first ``services.version`` in version order, ``LIMIT``.
    """
    text = ' '.join(statement.lower().split())
    if not text.startswith('select'):
        return False
    return 'min(services.version)' in text or (
        'order by services.version limit' in text)


def explain(engine, statement, parameters):
    """The query plan of a DBAPI statement, as text lines."""
    dialect = engine.dialect.name
    prefix = 'EXPLAIN QUERY PLAN ' if dialect == 'sqlite' else 'EXPLAIN '
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(prefix + statement, parameters)
        rows = cursor.fetchall()
        names = [d[0] for d in cursor.description or ()]
        cursor.close()
        raw.rollback()
    finally:
        raw.close()
    if dialect == 'sqlite':
        # (id, parent, notused, detail): indent by depth.
        depth = {0: 0}
        lines = []
        for node, parent, _unused, detail in rows:
            depth[node] = depth.get(parent, 0) + 1
            lines.append('%s%s' % ('  ' * (depth[node] - 1), detail))
        return lines
    if dialect == 'postgresql':
        return [r[0] for r in rows]
    lines = [' | '.join(names)]
    lines += [' | '.join('' if v is None else str(v) for v in r)
              for r in rows]
    return lines


# -- RabbitMQ -------------------------------------------------------------

def transport_url():
    return os.environ.get('NOVA_VERSIONING_TRANSPORT_URL',
                          DEFAULT_TRANSPORT_URL)


def _rabbitmqctl(*args):
    return subprocess.run(['rabbitmqctl', '-q'] + list(args),
                          capture_output=True, text=True, timeout=60)


def rabbit_version():
    if not shutil.which('rabbitmqctl'):
        return None
    try:
        result = _rabbitmqctl('version')
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


@contextlib.contextmanager
def rabbit_vhost(prefix='nvbench'):
    """A fresh RabbitMQ virtual host; yields (url, name), deleted after.

    :raises Unavailable: the broker is not reachable, or rabbitmqctl
        cannot create a virtual host (the benchmark does not share one).
    """
    url = transport_url()
    parsed = urllib.parse.urlparse(url.split(',')[0])
    try:
        socket.create_connection((parsed.hostname or '127.0.0.1',
                                  parsed.port or 5672), timeout=5).close()
    except OSError as exc:
        raise Unavailable('RabbitMQ is not reachable: %s' % exc)
    if not shutil.which('rabbitmqctl'):
        raise Unavailable('rabbitmqctl is not on the PATH: cannot make a '
                          'private virtual host')
    name = '%s-%s' % (prefix, uuidutils.generate_uuid()[:12])
    created = _rabbitmqctl('add_vhost', name)
    if created.returncode != 0:
        raise Unavailable('rabbitmqctl add_vhost failed: %s'
                          % created.stderr.strip())
    try:
        granted = _rabbitmqctl('set_permissions', '-p', name,
                               parsed.username or 'guest', '.*', '.*', '.*')
        if granted.returncode != 0:
            raise Unavailable('rabbitmqctl set_permissions failed: %s'
                              % granted.stderr.strip())
        yield urllib.parse.urlunparse(parsed._replace(path='/' + name)), name
    finally:
        _rabbitmqctl('delete_vhost', name)
