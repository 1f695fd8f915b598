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
"""SQLAlchemy models. The services table keeps Nova's shape."""

from oslo_db.sqlalchemy import models
import sqlalchemy as sa
from sqlalchemy import orm

BASE = orm.declarative_base()

# Index behind the minimum-version lookup: equality on binary, deleted and
# forced_down, then version in order, so MIN(version) is one index probe
# and the hosts at the minimum are one index range.
MIN_VERSION_INDEX = 'services_binary_deleted_forced_down_version_idx'


class Service(BASE, models.ModelBase, models.SoftDeleteMixin,
              models.TimestampMixin):
    """One row per (host, binary) of a running or past service.

    Soft delete: a deleted row has ``deleted = id``, so the unique
    constraint on (host, binary, deleted) allows one live row per host and
    binary and any number of deleted ones.
    """

    __tablename__ = 'services'
    __table_args__ = (
        sa.UniqueConstraint('host', 'binary', 'deleted',
                            name='uniq_services0host0binary0deleted'),
        sa.Index('services_uuid_idx', 'uuid', unique=True),
        sa.Index(MIN_VERSION_INDEX, 'binary', 'deleted', 'forced_down',
                 'version'),
        {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'},
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    uuid = sa.Column(sa.String(36), nullable=True)
    host = sa.Column(sa.String(255), nullable=True)
    binary = sa.Column(sa.String(255), nullable=True)
    topic = sa.Column(sa.String(255), nullable=True)
    report_count = sa.Column(sa.Integer, nullable=False, default=0)
    disabled = sa.Column(sa.Boolean, default=False)
    disabled_reason = sa.Column(sa.String(255), nullable=True)
    forced_down = sa.Column(sa.Boolean, default=False)
    last_seen_up = sa.Column(sa.DateTime, nullable=True)
    version = sa.Column(sa.Integer, default=0)
