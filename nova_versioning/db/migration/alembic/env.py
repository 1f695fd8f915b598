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
"""Alembic environment: runs on the connection handed in by db_sync()."""

from alembic import context

from nova_versioning.db import migration
from nova_versioning.db import models

target_metadata = models.BASE.metadata


def run_migrations_online():
    connection = context.config.attributes['connection']
    context.configure(connection=connection,
                      target_metadata=target_metadata,
                      version_table=context.config.attributes.get(
                          'version_table', migration.VERSION_TABLE),
                      render_as_batch=connection.dialect.name == 'sqlite')
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
