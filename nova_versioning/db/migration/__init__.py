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
"""Schema migrations (alembic) on [database]/connection.

The project's alembic keeps its revision in a version table of its own,
:data:`VERSION_TABLE`, never in alembic's default ``alembic_version``:
that one belongs to whichever project owns the database, and Nova's main
database has it. Releases before that kept the revision in
``alembic_version``; :func:`db_sync` moves it (:func:`adopt_legacy_revision`)
before upgrading.

:func:`schema_state` tells whose schema a database holds. A database whose
``services`` table belongs to Nova is used as it is and never altered.
"""

import dataclasses
import os

import sqlalchemy as sa

from nova_versioning.db import api as db_api
from nova_versioning.db import models
from nova_versioning import exception

ALEMBIC_DIR = os.path.join(os.path.dirname(__file__), 'alembic')

# Where this project's alembic records its revision.
VERSION_TABLE = 'nova_versioning_alembic_version'
# alembic's default, where releases before VERSION_TABLE recorded it, and
# where Nova (and most alembic users) record theirs.
LEGACY_VERSION_TABLE = 'alembic_version'

# Tables that mark Nova's main (cell) database, whose services table has
# the same shape as ours but is Nova's to migrate.
NOVA_TABLES = frozenset(['services', 'compute_nodes', 'instances'])

# What schema_state() finds.
EMPTY = 'empty'          # no schema yet: db sync creates it
OURS = 'ours'            # this project's schema, in VERSION_TABLE
LEGACY = 'legacy'        # ours, with the revision still in alembic_version
NOVA = 'nova'            # Nova's main database: used, never altered
FOREIGN = 'foreign'      # another project's schema: not touched


@dataclasses.dataclass(frozen=True)
class SchemaState(object):
    """Whose schema a database holds.

    :ivar kind: EMPTY, OURS, LEGACY, NOVA or FOREIGN.
    :ivar revision: this project's revision (None: none recorded).
    :ivar foreign_revision: the revision recorded in alembic_version by
        another project (Nova's, on a Nova database), or None.
    """

    kind: str
    revision: object = None
    foreign_revision: object = None

    @property
    def usable(self):
        """The services table can be read as it is."""
        return self.kind in (OURS, LEGACY, NOVA)

    def describe(self):
        """One line for an operator."""
        if self.kind == NOVA:
            return ('the services table belongs to Nova (alembic revision '
                    '%s in %s): it is used as it is and never altered'
                    % (self.foreign_revision or 'unknown',
                       LEGACY_VERSION_TABLE))
        if self.kind == FOREIGN:
            return ('the database holds another project\'s schema (%s); '
                    'nova_versioning does not write to it'
                    % ('alembic revision %s in %s' % (
                        self.foreign_revision, LEGACY_VERSION_TABLE)
                       if self.foreign_revision else
                       'a services table it did not create'))
        if self.kind == LEGACY:
            return ('the schema is at revision %s, recorded in %s by an '
                    'older release; db sync moves it to %s'
                    % (self.revision, LEGACY_VERSION_TABLE, VERSION_TABLE))
        if self.kind == EMPTY:
            return 'the schema is not synced'
        return 'the schema is at revision %s' % self.revision


# The minimum-version index (models.MIN_VERSION_INDEX's columns) that an
# operator may add to Nova's services table, which has no index starting
# with binary: explicit (db index create), reversible (db index drop).
NOVA_OPT_IN_INDEX = 'nova_versioning_services_min_version_idx'
_OPT_IN_COLUMNS = ('binary', 'deleted', 'forced_down', 'version')


# alembic is imported by the functions that use it, not here: reading the
# services table (nova-versioning-status pins, missing_tables()) needs
# none of it, and importing it costs a command a tenth of a second.


def _alembic_config(connection, version_table=VERSION_TABLE):
    from alembic import config as alembic_config

    config = alembic_config.Config()
    config.set_main_option('script_location', ALEMBIC_DIR)
    config.attributes['connection'] = connection
    # Only tests set another one, to make a database as older releases
    # did (their revision in alembic_version).
    config.attributes['version_table'] = version_table
    return config


def _script():
    from alembic import script as alembic_script

    return alembic_script.ScriptDirectory.from_config(_alembic_config(None))


def _get_engine(engine=None):
    if engine is not None:
        return engine
    return db_api.main_context_manager.writer.get_engine()


def _revisions(connection, table):
    from alembic import migration as alembic_migration

    context = alembic_migration.MigrationContext.configure(
        connection, opts={'version_table': table})
    return context.get_current_heads()


def _state(connection):
    tables = set(sa.inspect(connection).get_table_names())
    ours = (_revisions(connection, VERSION_TABLE)
            if VERSION_TABLE in tables else ())
    legacy = (_revisions(connection, LEGACY_VERSION_TABLE)
              if LEGACY_VERSION_TABLE in tables else ())
    known = {rev.revision for rev in _script().walk_revisions()}
    legacy_ours = bool(legacy) and set(legacy) <= known
    foreign = None if legacy_ours or not legacy else ','.join(legacy)
    revision = ours[0] if ours else None
    if NOVA_TABLES <= tables:
        return SchemaState(NOVA, revision, foreign)
    if VERSION_TABLE in tables:
        return SchemaState(OURS, revision, foreign)
    if legacy_ours:
        return SchemaState(LEGACY, legacy[0])
    if legacy or 'services' in tables:
        return SchemaState(FOREIGN, None, foreign)
    return SchemaState(EMPTY)


def schema_state(engine=None):
    """Whose schema the database holds (a :class:`SchemaState`)."""
    with _get_engine(engine).connect() as connection:
        return _state(connection)


def adopt_legacy_revision(connection):
    """Move this project's revision from alembic_version to VERSION_TABLE.

    The migration step of a deployment made by a release that kept its
    revision in alembic's default table: the revision is written to
    VERSION_TABLE and alembic_version is dropped, in the caller's
    transaction; the services table and its rows are not touched. Does
    nothing unless the database is in the LEGACY state.

    :returns: the revision moved, or None.
    """
    from alembic import migration as alembic_migration

    state = _state(connection)
    if state.kind != LEGACY:
        return None
    context = alembic_migration.MigrationContext.configure(
        connection, opts={'version_table': VERSION_TABLE})
    context.stamp(_script(), state.revision)
    sa.Table(LEGACY_VERSION_TABLE, sa.MetaData()).drop(connection)
    return state.revision


def dispose(engine=None):
    """Close the pooled connections: the next one is opened anew."""
    _get_engine(engine).dispose()


def check_revision(version):
    """Raise InvalidRevision unless ``version`` names a known revision.

    Checked before anything connects, so a mistyped ``--version`` is one
    line naming the revisions this code knows.
    """
    script = _script()
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

    A revision recorded by an older release in alembic_version is moved
    to VERSION_TABLE first, in the same transaction where the database
    allows (PostgreSQL, SQLite).

    :returns: the SchemaState found before anything was written.
    :raises ForeignSchema: another project's schema; nothing is written.
        A Nova database (state NOVA) is returned as it is, unchanged.
    :raises InvalidRevision: ``version`` is no revision of this code.
    """
    from alembic import command as alembic_command

    check_revision(version)
    with _get_engine(engine).begin() as connection:
        state = _state(connection)
        if state.kind == NOVA:
            return state
        if state.kind == FOREIGN:
            raise exception.ForeignSchema(reason=state.describe())
        adopt_legacy_revision(connection)
        alembic_command.upgrade(_alembic_config(connection), version)
    return state


def nova_index(create=True, engine=None):
    """Add (or remove) the opt-in minimum-version index on Nova's table.

    Nothing else of Nova's schema is touched; Nova's own migrations and
    checks do not look at an index of this name.

    :returns: True when the index was created (dropped), False when it
        was already there (not there).
    :raises ForeignSchema: the database is not Nova's (this project's own
        schema has its index already).
    """
    with _get_engine(engine).begin() as connection:
        state = _state(connection)
        if state.kind != NOVA:
            raise exception.ForeignSchema(
                reason='db index only applies to a Nova database, and %s'
                       % state.describe())
        present = NOVA_OPT_IN_INDEX in {
            index['name'] for index in
            sa.inspect(connection).get_indexes('services')}
        if present == create:
            return False
        table = sa.Table('services', sa.MetaData(),
                         *[sa.Column(name) for name in _OPT_IN_COLUMNS])
        index = sa.Index(NOVA_OPT_IN_INDEX,
                         *[table.c[name] for name in _OPT_IN_COLUMNS])
        if create:
            index.create(connection)
        else:
            index.drop(connection)
        return True


def has_nova_index(engine=None):
    """True when the opt-in index is on the services table."""
    return NOVA_OPT_IN_INDEX in {
        index['name'] for index in
        sa.inspect(_get_engine(engine)).get_indexes('services')}


def db_version(engine=None):
    """This project's schema revision, or None when never synced.

    A revision still recorded in alembic_version by an older release
    counts; Nova's does not.
    """
    state = schema_state(engine)
    return state.revision if state.kind in (OURS, LEGACY) else None


def head_version():
    """The newest schema revision this code knows."""
    return _script().get_current_head()


def missing_tables(engine=None):
    """The tables of the schema the database does not have, by name."""
    existing = set(sa.inspect(_get_engine(engine)).get_table_names())
    return sorted(set(models.BASE.metadata.tables) - existing)
