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
"""Initial schema: the services table.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'services',
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
        sa.UniqueConstraint('host', 'binary', 'deleted',
                            name='uniq_services0host0binary0deleted'),
        mysql_engine='InnoDB',
        mysql_charset='utf8mb4',
    )
    op.create_index('services_uuid_idx', 'services', ['uuid'], unique=True)
    op.create_index('services_binary_deleted_forced_down_version_idx',
                    'services',
                    ['binary', 'deleted', 'forced_down', 'version'])
