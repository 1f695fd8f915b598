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
"""Schema migrations (alembic) on [database]/connection."""

import os

from alembic import command as alembic_command
from alembic import config as alembic_config
from alembic import migration as alembic_migration
from alembic import script as alembic_script

import sqlalchemy as sa

from nova_versioning.db import api as db_api
from nova_versioning.db import models
from nova_versioning import exception

ALEMBIC_DIR = os.path.join(os.path.dirname(__file__), 'alembic')


def _alembic_config(connection):
    config = alembic_config.Config()
    config.set_main_option('script_location', ALEMBIC_DIR)
    config.attributes['connection'] = connection
    return config


def _get_engine(engine=None):
    if engine is not None:
        return engine
    return db_api.main_context_manager.writer.get_engine()


def check_revision(version):
    """Raise InvalidRevision unless ``version`` names a known revision.

    Checked before anything connects, so a mistyped ``--version`` is one
    line naming the revisions this code knows.
    """
    script = alembic_script.ScriptDirectory.from_config(
        _alembic_config(None))
    try:
        found = script.get_revisions(version)
    except Exception:
        found = None
    if not found and version not in ('head', 'heads'):
        known = [rev.revision for rev in reversed(list(
            script.walk_revisions()))]
        raise exception.InvalidRevision(
            value=version, known=', '.join(known) or 'none')


def db_sync(version='head', engine=None):
    """Upgrade the schema to ``version`` (default: the newest).

    :raises InvalidRevision: ``version`` is no revision of this code.
    """
    check_revision(version)
    with _get_engine(engine).begin() as connection:
        alembic_command.upgrade(_alembic_config(connection), version)


def db_version(engine=None):
    """The schema revision of the database, or None when never synced."""
    with _get_engine(engine).connect() as connection:
        context = alembic_migration.MigrationContext.configure(connection)
        return context.get_current_revision()


def head_version():
    """The newest schema revision this code knows."""
    script = alembic_script.ScriptDirectory.from_config(
        _alembic_config(None))
    return script.get_current_head()


def missing_tables(engine=None):
    """The tables of the schema the database does not have, by name."""
    existing = set(sa.inspect(_get_engine(engine)).get_table_names())
    return sorted(set(models.BASE.metadata.tables) - existing)
