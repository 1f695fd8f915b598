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
"""Database queries on the services table (oslo.db enginefacade).

Every function takes a request context decorated with
``enginefacade.transaction_context_provider`` (see
:mod:`nova_versioning.context`).
"""

from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import enginefacade
from oslo_utils import uuidutils
import sqlalchemy as sa
from sqlalchemy.ext import compiler as sa_compiler
from sqlalchemy.sql import functions as sa_functions

from nova_versioning.db import lean
from nova_versioning.db import models
from nova_versioning import exception
from nova_versioning import records

main_context_manager = enginefacade.transaction_context()


def _retriable(exc):
    """A transaction lost to a concurrent writer, worth running again.

    SQLite: a transaction that reads before it writes (every registration
    and heartbeat here) fails at once with "database is locked" when
    another connection holds the write lock, rather than waiting for it.
    MariaDB/PostgreSQL deadlocks are retried by oslo.db's own check.
    """
    return 'database is locked' in str(exc)


# Wraps a whole write transaction: on a retriable failure it is rolled back
# and run again from the start, guard included.
retry_on_conflict = oslo_db_api.wrap_db_retry(
    max_retries=20, retry_interval=0.02, inc_retry_interval=True,
    max_retry_interval=0.5, retry_on_deadlock=True,
    exception_checker=_retriable)


def last_heartbeat(model=models.Service, default=None):
    """SQL expression of a row's last heartbeat.

    ``COALESCE(last_seen_up, updated_at, created_at)``: a service that never
    sent a heartbeat was last heard of when its record was written.
    """
    columns = [model.last_seen_up, model.updated_at, model.created_at]
    if default is not None:
        columns.append(_bound(default, sa.DateTime))
    return sa.func.coalesce(*columns)


class binary_image(sa_functions.GenericFunction):
    """The bytes of a text value, compared without any collation.

    ``CAST(x AS BINARY)`` on MariaDB and MySQL, whose collations ignore
    case, trailing spaces and accents; ``x`` itself elsewhere, since SQLite
    and PostgreSQL compare text exactly.
    """

    type = sa.String()
    name = 'binary_image'
    inherit_cache = True


@sa_compiler.compiles(binary_image)
def _binary_image(element, compiler, **kw):
    (clause,) = element.clauses
    return compiler.process(clause, **kw)


@sa_compiler.compiles(binary_image, 'mysql')
def _binary_image_mysql(element, compiler, **kw):
    (clause,) = element.clauses
    return 'CAST(%s AS BINARY)' % compiler.process(clause, **kw)


def _bound(value, type_):
    """``value`` as a bound parameter (a bindparam stays as it is)."""
    if isinstance(value, sa.sql.elements.BindParameter):
        return value
    return sa.literal(value, type_=type_)


def exactly_equal(column, value):
    """``column`` equals ``value`` byte for byte, on every database.

    The plain equality stays (the indexes serve it); the binary images
    must be equal too (see :class:`binary_image`). ``value`` may be a
    ``bindparam`` (a prepared statement).
    """
    value = _bound(value, column.type)
    return sa.and_(column == value,
                   binary_image(column) == binary_image(value))


_is = exactly_equal


def effective_version(model=models.Service):
    """SQL of the version a row counts as (see :mod:`records`)."""
    return sa.case(
        (sa.or_(model.version.is_(None),
                model.version < records.LOWEST_VERSION),
         records.LOWEST_VERSION),
        else_=model.version)


def _not_forced_down(model=models.Service, branch=None):
    """NULL is not forced down (records.forced_down).

    :param branch: None for both; FALSE_BRANCH or NULL_BRANCH for one of
        the two, each an equality the min-version index serves (their OR
        is served by the index only as far as ``deleted``).
    """
    if branch == FALSE_BRANCH:
        return model.forced_down == sa.false()
    if branch == NULL_BRANCH:
        return model.forced_down.is_(None)
    return sa.or_(model.forced_down == sa.false(),
                  model.forced_down.is_(None))


FALSE_BRANCH = 'false'
NULL_BRANCH = 'null'


def _counted(query_or_select, model=models.Service, counted_since=None,
             branch=None):
    """Restrict to rows that count toward a minimum version.

    :param counted_since: a naive UTC datetime, or None. When given, rows
        whose last heartbeat is older do not count (the stale service
        policy). A row without any timestamp counts. The condition is a
        filter on the rows of the min-version index range, which still
        leads the query.
    """
    stmt = query_or_select.where(
        model.deleted == 0,
        _not_forced_down(model, branch))
    if counted_since is not None:
        since = _bound(counted_since, sa.DateTime)
        stmt = stmt.where(last_heartbeat(model, default=since) >= since)
    return stmt


def _live(model=models.Service):
    return model.deleted == 0


@main_context_manager.writer
def service_create(context, values):
    values = dict(values)
    values.setdefault('uuid', uuidutils.generate_uuid())
    service_ref = models.Service()
    service_ref.update(values)
    try:
        service_ref.save(context.session)
    except db_exc.DBDuplicateEntry as e:
        if 'binary' in e.columns:
            raise exception.ServiceExists(host=values.get('host'),
                                          binary=values.get('binary'))
        if 'topic' in e.columns:
            # Nova's uniq_services0host0topic0deleted.
            raise exception.ServiceTopicExists(host=values.get('host'),
                                               topic=values.get('topic'))
        raise
    return service_ref


@main_context_manager.reader
def service_get(context, service_id, for_update=False):
    stmt = sa.select(models.Service).where(
        models.Service.id == service_id, _live())
    if for_update:
        stmt = stmt.with_for_update()
    row = context.session.execute(stmt).scalar_one_or_none()
    if row is None:
        raise exception.ServiceNotFound(service=service_id)
    return row


@main_context_manager.reader
def service_get_by_host_and_binary(context, host, binary):
    # Two live rows cannot share a host and binary under the unique key;
    # a table without it may still hold them: the newest one answers.
    row = context.session.execute(
        sa.select(models.Service).where(
            _is(models.Service.host, host),
            _is(models.Service.binary, binary),
            _live()).order_by(models.Service.id.desc()).limit(1)
    ).scalar_one_or_none()
    if row is None:
        raise exception.ServiceNotFound(service='%s/%s' % (host, binary))
    return row


@main_context_manager.reader
def service_get_all(context, binary=None, host=None, disabled=None,
                    forced_down=None, include_deleted=False):
    stmt = sa.select(models.Service)
    if not include_deleted:
        stmt = stmt.where(_live())
    if binary is not None:
        stmt = stmt.where(_is(models.Service.binary, binary))
    if host is not None:
        stmt = stmt.where(_is(models.Service.host, host))
    if disabled is not None:
        stmt = stmt.where(models.Service.disabled == sa.true()
                          if disabled else models.Service.disabled ==
                          sa.false())
    if forced_down is not None:
        stmt = stmt.where(models.Service.forced_down == sa.true()
                          if forced_down else _not_forced_down())
    stmt = stmt.order_by(models.Service.binary, models.Service.host,
                         models.Service.id)
    return context.session.execute(stmt).scalars().all()


@main_context_manager.writer
def service_update(context, service_id, values):
    service_ref = service_get(context, service_id, for_update=True)
    service_ref.update(values)
    try:
        context.session.flush()
    except db_exc.DBDuplicateEntry as e:
        if 'topic' in e.columns:
            raise exception.ServiceTopicExists(host=service_ref.host,
                                               topic=service_ref.topic)
        raise exception.ServiceExists(host=service_ref.host,
                                      binary=service_ref.binary)
    return service_ref


@main_context_manager.writer
def service_destroy(context, service_id):
    service_ref = service_get(context, service_id)
    service_ref.soft_delete(context.session)
    return service_ref


def _of_binary(stmt, binary, exclude_host=None):
    stmt = stmt.where(_is(models.Service.binary, binary))
    if exclude_host is not None:
        # A row without a host is another host's.
        stmt = stmt.where(sa.or_(
            models.Service.host.is_(None),
            sa.not_(_is(models.Service.host, exclude_host))))
    return stmt


def _min_version_select(binary, exclude_host=None, counted_since=None,
                        branch=FALSE_BRANCH):
    """SELECT of the lowest counted version of binary (NULL: none).

    Of the rows of one ``forced_down`` branch (see :func:`_minimum_parts`).
    Unknown versions below :data:`records.LOWEST_VERSION` come first; NULL
    versions are left out (see :func:`_unknown_select`).
    """
    # Walk the min-version index range in version order and stop at the
    # first row that passes the filters the index does not hold (the
    # byte-exact binary, the heartbeat of the stale service policy):
    # usually the first row. (MariaDB/MySQL answer MIN from the index
    # alone only when no such filter is left; with one they walk the whole
    # range.)
    stmt = sa.select(models.Service.version).where(
        models.Service.version.isnot(None)).order_by(
        models.Service.version).limit(1)
    stmt = _counted(stmt, counted_since=counted_since, branch=branch)
    return _of_binary(stmt, binary, exclude_host)


def _unknown_select(binary, exclude_host=None, counted_since=None,
                    branch=FALSE_BRANCH):
    """EXISTS of a counted row of binary with a NULL version."""
    stmt = _counted(sa.select(models.Service.id),
                    counted_since=counted_since, branch=branch).where(
        models.Service.version.is_(None))
    return sa.exists(_of_binary(stmt, binary, exclude_host))


def _minimum_parts(binary, exclude_host=None, counted_since=None):
    """The four columns :func:`_minimum` reads a binary's minimum from.

    The lowest version and whether a NULL version is counted, for each
    ``forced_down`` branch (false, NULL): four probes of the min-version
    index, where one OR of both branches would walk every row of the
    binary.
    """
    kw = {'exclude_host': exclude_host, 'counted_since': counted_since}
    return [
        _min_version_select(binary, branch=FALSE_BRANCH,
                            **kw).scalar_subquery(),
        _min_version_select(binary, branch=NULL_BRANCH,
                            **kw).scalar_subquery(),
        _unknown_select(binary, branch=FALSE_BRANCH, **kw),
        _unknown_select(binary, branch=NULL_BRANCH, **kw),
    ]


def _minimum(parts):
    """The minimum a binary counts as, from :func:`_minimum_parts`.

    0: no counted row. A counted row of unknown version makes it
    records.LOWEST_VERSION.
    """
    lows = [value for value in parts[:2] if value is not None]
    lowest = min(lows) if lows else None
    if any(parts[2:]) or (lowest is not None
                          and lowest < records.LOWEST_VERSION):
        return records.LOWEST_VERSION
    return int(lowest or 0)


def _prepared_minimum(shape):
    """The statement of :func:`service_get_minimum_version`, prepared.

    :param shape: (number of binaries, stale filter or not, other hosts
        or not); the parameters are ``b0``, ``b1``... (the binaries),
        ``since`` (the stale cutoff) and ``host`` (the excluded host).
    """
    count, stale, others = shape
    since = sa.bindparam('since', type_=sa.DateTime) if stale else None
    host = sa.bindparam('host', type_=sa.String) if others else None
    columns = []
    for i in range(count):
        binary = sa.bindparam('b%d' % i, type_=sa.String)
        columns.extend(
            part.label('m%d_%d' % (i, j)) for j, part in enumerate(
                _minimum_parts(binary, exclude_host=host,
                               counted_since=since)))
    return sa.select(*columns)


MINIMUM_STATEMENTS = lean.Prepared(_prepared_minimum)


def _read_minimum_parts(context, binaries, counted_since, host=None):
    params = {'b%d' % i: binary for i, binary in enumerate(binaries)}
    if counted_since is not None:
        params['since'] = counted_since
    if host is not None:
        params['host'] = host
    statement = MINIMUM_STATEMENTS(
        (len(binaries), counted_since is not None, host is not None))
    (row,) = lean.read(main_context_manager, context, statement, params)
    return row


def service_get_minimum_version(context, binaries, counted_since=None):
    """Minimum recorded version of each binary, in one statement.

    Deleted and forced-down rows never count, nor, with ``counted_since``,
    rows whose last heartbeat is older (see :func:`_counted`). A binary
    with no such row maps to 0; a counted row of unknown version counts as
    :data:`records.LOWEST_VERSION`. Each binary is four scalar subqueries
    (see :func:`_minimum_parts`), so every database answers it with
    probes of the min-version index rather than a scan and GROUP BY.

    The statement is prepared once per number of binaries and read on the
    lean path (:mod:`nova_versioning.db.lean`): one round trip on a held
    connection of the reader engine, no ORM session; inside a transaction
    of ``context``, on that transaction's connection.

    :returns: dict of binary -> int
    """
    binaries = list(dict.fromkeys(binaries))
    if not binaries:
        return {}
    row = _read_minimum_parts(context, binaries, counted_since)
    return {binary: _minimum(row[4 * i:4 * i + 4])
            for i, binary in enumerate(binaries)}


def service_get_minimum_version_of_others(context, binary, host,
                                          counted_since=None):
    """Minimum version of the counted rows of ``binary`` on other hosts.

    On the lean read path, as :func:`service_get_minimum_version`.
    """
    return _minimum(_read_minimum_parts(context, [binary], counted_since,
                                        host=host))


@main_context_manager.reader
def service_get_at_minimum_version(context, binary, counted_since=None):
    """Counted rows of ``binary`` at its minimum version, in one statement.

    These are the services holding an ``auto`` pin down; the rows of
    unknown version when there are any.
    """
    effective = effective_version()
    minimum = _of_binary(_counted(sa.select(sa.func.min(effective)),
                                  counted_since=counted_since),
                         binary).scalar_subquery()
    stmt = _of_binary(_counted(sa.select(models.Service),
                               counted_since=counted_since), binary).where(
        effective == minimum,
    ).order_by(models.Service.host, models.Service.id)
    return context.session.execute(stmt).scalars().all()


@main_context_manager.reader
def service_get_counted_older_than(context, binary, version,
                                   counted_since=None):
    """Counted rows of ``binary`` whose version is below ``version``.

    A row of unknown version counts as :data:`records.LOWEST_VERSION`.
    """
    if version <= records.LOWEST_VERSION:
        return []
    stmt = _of_binary(_counted(sa.select(models.Service),
                               counted_since=counted_since), binary).where(
        sa.or_(models.Service.version.is_(None),
               models.Service.version < version),
    ).order_by(models.Service.version, models.Service.host)
    return context.session.execute(stmt).scalars().all()
