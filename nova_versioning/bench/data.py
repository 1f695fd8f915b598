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
"""A realistic services table, and Nova's schema to hold the same rows.

Rows are generated in one fixed order from a seeded generator, so the
first N rows are the data set of size N on every backend, for both
schemas: mostly nova-compute records across three service versions, some
soft-deleted (``deleted = id``, older versions), some forced down or
disabled, and a few conductors and schedulers.
"""

import datetime
import random

from oslo_utils import uuidutils
import sqlalchemy as sa

SEED = 20261122
BASE_TIME = datetime.datetime(2026, 11, 1)

# Share of nova-compute rows.
DELETED = 0.10
FORCED_DOWN = 0.02
DISABLED = 0.03
# Live nova-compute versions: most upgraded, a tail of older ones.
LIVE_VERSIONS = ((7, 0.80), (6, 0.15), (5, 0.05))
DELETED_VERSIONS = (3, 4, 5, 6)


def _pick(rng, weighted):
    r = rng.random()
    for value, weight in weighted:
        if r < weight:
            return value
        r -= weight
    return weighted[-1][0]


def generate(count, seed=SEED):
    """The first ``count`` rows, as dicts of column values (ids from 1)."""
    rng = random.Random(seed)
    rows = []
    for ident in range(1, count + 1):
        created = BASE_TIME + datetime.timedelta(seconds=ident)
        values = {'id': ident, 'uuid': uuidutils.generate_uuid(),
                  'created_at': created, 'updated_at': created,
                  'deleted_at': None, 'deleted': 0, 'report_count': 0,
                  'disabled': False, 'disabled_reason': None,
                  'forced_down': False, 'last_seen_up': created}
        # A few control services: three conductors and two schedulers at
        # the start, then one conductor per 5000 rows (more cells).
        if ident <= 3 or ident % 5000 == 0:
            binary = 'nova-conductor'
            host = 'ctl-%06d' % ident
            version = 7
        elif ident <= 5:
            binary = 'nova-scheduler'
            host = 'sched-%06d' % ident
            version = 7
        else:
            binary = 'nova-compute'
            r = rng.random()
            if r < DELETED:
                # A decommissioned or re-registered host: soft-deleted.
                host = 'cmp-%06d' % rng.randrange(1, ident)
                version = rng.choice(DELETED_VERSIONS)
                values['deleted'] = ident
                values['deleted_at'] = created
            else:
                host = 'cmp-%06d' % ident
                version = _pick(rng, LIVE_VERSIONS)
                if r < DELETED + FORCED_DOWN:
                    values['forced_down'] = True
                    version = rng.choice((5, 6, 7))
                elif r < DELETED + FORCED_DOWN + DISABLED:
                    values['disabled'] = True
                    values['disabled_reason'] = 'maintenance'
            values['report_count'] = rng.randrange(0, 100000)
        values.update(host=host, binary=binary, topic=binary[5:],
                      version=version)
        rows.append(values)
    return rows


def expected_minimum(rows, binary):
    """MIN(version) of counted rows of binary, computed in Python."""
    versions = [r['version'] for r in rows
                if r['binary'] == binary and not r['deleted']
                and not r['forced_down']]
    return min(versions) if versions else 0


def nova_services_table(metadata):
    """Nova's services table: its columns and its indexes only.

    nova/db/main/models.py: unique (host, topic, deleted), unique (host,
    binary, deleted) and the unique uuid index; no index starts with
    ``binary``.
    """
    return sa.Table(
        'services', metadata,
        sa.Column('created_at', sa.DateTime),
        sa.Column('updated_at', sa.DateTime),
        sa.Column('deleted_at', sa.DateTime),
        sa.Column('deleted', sa.Integer, default=0),
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('uuid', sa.String(36), nullable=True),
        sa.Column('host', sa.String(255), nullable=True),
        sa.Column('binary', sa.String(255), nullable=True),
        sa.Column('topic', sa.String(255), nullable=True),
        sa.Column('report_count', sa.Integer, nullable=False, default=0),
        sa.Column('disabled', sa.Boolean, default=False),
        sa.Column('disabled_reason', sa.String(255), nullable=True),
        sa.Column('forced_down', sa.Boolean, default=False),
        sa.Column('last_seen_up', sa.DateTime, nullable=True),
        sa.Column('version', sa.Integer, default=0),
        sa.UniqueConstraint('host', 'topic', 'deleted',
                            name='uniq_services0host0topic0deleted'),
        sa.UniqueConstraint('host', 'binary', 'deleted',
                            name='uniq_services0host0binary0deleted'),
        sa.Index('services_uuid_idx', 'uuid', unique=True),
        mysql_engine='InnoDB',
        mysql_charset='utf8mb4',
    )


def nova_minimum_version_select(table, binaries):
    """Nova's service_get_minimum_version, as SQL.

    nova/db/main/api.py::

        SELECT binary, MIN(version) FROM services
        WHERE binary IN (...) AND deleted = 0 AND forced_down = false
        GROUP BY binary
    """
    return sa.select(table.c.binary, sa.func.min(table.c.version)).where(
        table.c.binary.in_(binaries),
        table.c.deleted == 0,
        table.c.forced_down == sa.false(),
    ).group_by(table.c.binary)


def insert(engine, table, rows, chunk=5000):
    """Bulk insert (executemany, batched by the dialect) in chunks."""
    for start in range(0, len(rows), chunk):
        with engine.begin() as conn:
            conn.execute(table.insert(), rows[start:start + chunk])


def analyze(engine, table_name='services'):
    """Refresh the planner's statistics of the table."""
    with engine.begin() as conn:
        if engine.dialect.name == 'mysql':
            conn.exec_driver_sql('ANALYZE TABLE %s' % table_name).fetchall()
        else:
            conn.exec_driver_sql('ANALYZE %s' % table_name)
