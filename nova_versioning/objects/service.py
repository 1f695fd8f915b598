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
"""The Service object: one record per (host, binary), with its version.

Every service records the service version of the code it runs. Two rules
keep a deployment coherent:

* **Minimum version.** :meth:`Service.get_minimum_version` answers "what is
  the oldest running X?": deleted and forced-down records never count, and 0
  means there is none. With ``[versioning]/stale_service_timeout`` set,
  records without a heartbeat for longer do not count either (the stale
  service policy). Answers are cached per process for
  ``[versioning]/minimum_version_cache_ttl`` seconds, and concurrent callers
  share one query. ``fresh=True`` skips the cached answers (a reload must
  see an upgrade at once); called through the conductor, it skips the
  conductor's cache.
* **Startup guard.** A service registering (creating its record, or saving
  it at startup) with a version older than the minimum of the *other* live
  records of its binary is refused with :class:`ServiceTooOld`, and nothing
  is written.

What a save means depends on what it changes:

* only state fields (report_count, last_seen_up, disabled, disabled_reason,
  forced_down): a heartbeat or an administrative update, possibly made by
  another process. The recorded version is left alone and the guard does
  not run, so a running service is never taken down by its heartbeat while
  the rest of its kind is upgraded around it.
* anything else, or nothing at all: the service (re-)registers. This code's
  service version is written and the guard runs first.
"""

import datetime
import re
import weakref

from oslo_log import log as logging
from oslo_utils import timeutils
from oslo_versionedobjects import base as ovo_base
from oslo_versionedobjects import fields

from nova_versioning import cache
from nova_versioning import cells
from nova_versioning import conf as nv_conf
from nova_versioning.conf import lastgood
from nova_versioning.db import api as db_api
from nova_versioning.db import migration
from nova_versioning import exception
from nova_versioning import history
from nova_versioning.objects import base
from nova_versioning import records

LOG = logging.getLogger(__name__)
CONF = nv_conf.CONF

BINARY_RE = re.compile(r'nova-[a-z0-9][a-z0-9_-]*')

# A save that changes nothing but these is a heartbeat or an administrative
# update: it does not re-register the service, rewrite its version or run
# the guard.
STATE_FIELDS = frozenset(['report_count', 'last_seen_up', 'disabled',
                          'disabled_reason', 'forced_down'])

# Fields whose change can move the minimum version of a binary.
_MINIMUM_FIELDS = frozenset(['version', 'forced_down', 'deleted', 'binary'])


def _option(name):
    # Read on every minimum lookup, here and on a conductor answering its
    # computes: a bad value written before a SIGHUP keeps the last good one.
    return lastgood.options(CONF).get('versioning', name)


MIN_VERSION_CACHE = cache.MinimumVersionCache(
    lambda: _option('minimum_version_cache_ttl'))


# Binaries already found valid: the check runs on every minimum lookup.
_VALID_BINARIES = set()
_MAX_VALID_BINARIES = 256


def validate_binary(binary):
    """Raise InvalidBinary unless ``binary`` is named "nova-<name>"."""
    if binary in _VALID_BINARIES:
        return
    if not isinstance(binary, str) or not BINARY_RE.fullmatch(binary):
        raise exception.InvalidBinary(binary=binary)
    if len(_VALID_BINARIES) < _MAX_VALID_BINARIES:
        _VALID_BINARIES.add(binary)


def stale_cutoff(timeout, now=None):
    """The oldest heartbeat still counted, as a naive UTC datetime.

    :param timeout: [versioning]/stale_service_timeout in seconds; 0 or
        None: the policy is off, and None is returned.
    :param now: naive UTC datetime (default: now).
    """
    if not timeout:
        return None
    if now is None:
        now = timeutils.utcnow()
    return now - datetime.timedelta(seconds=timeout)


def counted_since():
    """The cutoff of the stale service policy of this process, or None."""
    return stale_cutoff(_option('stale_service_timeout'))


def _loader(context, timeout):
    """The query of minimum versions a cache miss runs."""
    if cells.enabled(CONF):
        # Every cell of [api_database], as Nova's
        # get_minimum_version_all_cells.
        def load(missing):
            return cells.minimum_versions(
                CONF, missing, counted_since=stale_cutoff(timeout))
    else:
        def load(missing):
            return db_api.service_get_minimum_version(
                context, missing, counted_since=stale_cutoff(timeout))
    return load


def _minimum_versions(context, binaries, fresh=False):
    for binary in binaries:
        validate_binary(binary)
    timeout = _option('stale_service_timeout')
    # The timeout is the cache's scope: a reload that changes it forgets
    # the minimums read with the previous one.
    return MIN_VERSION_CACHE.get_multi(
        binaries, lambda missing: _loader(context, timeout)(missing),
        scope=timeout, fresh=fresh)


# Engine -> its schema is Nova's: asked once per engine, before the first
# registration written through it.
_NOVA_SCHEMA = weakref.WeakKeyDictionary()


def refuse_nova_database(host, binary):
    """Raise NovaDatabase when [database] is a Nova database.

    A service of this project registering there would write a record Nova
    takes for one of its own services.
    """
    engine = db_api.main_context_manager.writer.get_engine()
    if engine not in _NOVA_SCHEMA:
        _NOVA_SCHEMA[engine] = (migration.schema_state(engine).kind ==
                                migration.NOVA)
    if _NOVA_SCHEMA[engine]:
        raise exception.NovaDatabase(
            reason='Refusing to register %s on host %s: [database]/'
                   'connection is a Nova database, whose service records '
                   'belong to Nova\'s own services; give this service a '
                   'database of its own (nova-versioning-manage db sync)'
                   % (binary, host))


def _minimum_version(context, binary, fresh=False):
    # The call every pin resolution makes: one binary, answered from the
    # cache without its lock when it can be, and the timeout (the cache's
    # scope) read from oslo.config's own cache of values while it holds
    # it unchanged.
    validate_binary(binary)
    timeout = lastgood.options(CONF).current('versioning',
                                             'stale_service_timeout')
    # Which database to read ([api_database] or not) is looked up only on
    # a miss: a cached answer costs no configuration read for it.
    return MIN_VERSION_CACHE.get(
        binary, lambda missing: _loader(context, timeout)(missing),
        scope=timeout, fresh=fresh)


@base.NovaVersioningObjectRegistry.register
class Service(base.NovaVersioningObject):
    # Version 1.0: Initial version
    # Version 1.1: get_minimum_version, get_minimum_version_multi and
    #              get_minimum_versions take fresh, to skip the cache (a
    #              reload on a host without database access must not get
    #              the conductor's cached answer)
    VERSION = '1.1'

    fields = {
        'id': fields.IntegerField(read_only=True),
        'uuid': fields.UUIDField(),
        'host': fields.StringField(nullable=True),
        'binary': fields.StringField(nullable=True),
        'topic': fields.StringField(nullable=True),
        'report_count': fields.IntegerField(),
        'disabled': fields.BooleanField(),
        'disabled_reason': fields.StringField(nullable=True),
        'forced_down': fields.BooleanField(),
        'last_seen_up': fields.DateTimeField(nullable=True),
        # Set from the service version of the code that writes the record;
        # never by the caller.
        'version': fields.IntegerField(read_only=True),
        'created_at': fields.DateTimeField(nullable=True),
        'updated_at': fields.DateTimeField(nullable=True),
        'deleted_at': fields.DateTimeField(nullable=True),
        'deleted': fields.BooleanField(default=False),
    }

    def __init__(self, context=None, **kwargs):
        if 'version' in kwargs:
            raise exception.ObjectActionError(
                action='init',
                reason='version is the service version of the running code '
                       'and cannot be set by the caller')
        super().__init__(context=context, **kwargs)

    @property
    def last_heartbeat(self):
        """last_seen_up, else updated_at, else created_at (or None)."""
        for name in ('last_seen_up', 'updated_at', 'created_at'):
            value = getattr(self, name) if self.obj_attr_is_set(name) \
                else None
            if value is not None:
                return value
        return None

    def __repr__(self):
        return ('Service(host=%s, binary=%s, version=%s)'
                % (self.host if self.obj_attr_is_set('host') else None,
                   self.binary if self.obj_attr_is_set('binary') else None,
                   self.version if self.obj_attr_is_set('version') else None))

    @staticmethod
    def _from_db_object(context, service, db_service):
        # Rows are read by the rules of nova_versioning.records: a NULL
        # version or report_count reads as 0 (an unknown version), NULL
        # flags as false, a date the driver could not read (a MariaDB zero
        # date) as older than any, a NULL uuid as unset.
        for name in service.fields:
            value = db_service[name]
            if name == 'deleted':
                value = bool(value)
            elif name in ('report_count', 'version') and value is None:
                value = 0
            elif name in ('disabled', 'forced_down'):
                value = bool(value)
            elif name == 'uuid' and value is None:
                continue
            elif (isinstance(service.fields[name], fields.DateTimeField)
                  and value is not None
                  and not isinstance(value, datetime.datetime)):
                value = records.ZERO_DATE
            # Coerce as the field setter would (timezone-aware datetimes),
            # without its read-only check on id and version.
            value = service.fields[name].coerce(service, name, value)
            setattr(service, '_obj_' + name, value)
        # The cell a record was read from, when read across Nova's cells
        # (not a field: it names the record to an operator and never
        # travels over RPC).
        service.cell_label = getattr(db_service, 'cell', None)
        service._context = context
        service.obj_reset_changes()
        return service

    def _set_version(self, version):
        # Bypass the read-only guard: the version is ours to write.
        setattr(self, '_obj_version', version)
        self._changed_fields.add('version')

    # -- reads ---------------------------------------------------------

    @classmethod
    @ovo_base.remotable
    def get_by_id(cls, context, service_id):
        db_service = db_api.service_get(context, service_id)
        return cls._from_db_object(context, cls(), db_service)

    @classmethod
    @ovo_base.remotable
    def get_by_host_and_binary(cls, context, host, binary):
        """The live record of (host, binary), or None."""
        validate_binary(binary)
        try:
            db_service = db_api.service_get_by_host_and_binary(
                context, host, binary)
        except exception.ServiceNotFound:
            return None
        return cls._from_db_object(context, cls(), db_service)

    @classmethod
    @ovo_base.remotable
    def get_all(cls, context, binary=None, host=None, disabled=None,
                forced_down=None, include_deleted=False):
        """Records matching every filter given, by binary then host."""
        if binary is not None:
            validate_binary(binary)
        db_services = db_api.service_get_all(
            context, binary=binary, host=host, disabled=disabled,
            forced_down=forced_down, include_deleted=include_deleted)
        return [cls._from_db_object(context, cls(), db_service)
                for db_service in db_services]

    @classmethod
    @ovo_base.remotable
    def get_counted_older_than(cls, context, binary, version):
        """Records that count toward the minimum and are below version."""
        validate_binary(binary)
        if cells.enabled(CONF):
            db_services = cells.counted_older_than(
                CONF, binary, version, counted_since=counted_since())
        else:
            db_services = db_api.service_get_counted_older_than(
                context, binary, version, counted_since=counted_since())
        return [cls._from_db_object(context, cls(), db_service)
                for db_service in db_services]

    @classmethod
    @ovo_base.remotable
    def get_all_at_minimum_version(cls, context, binary):
        """Counted records of binary at its minimum version (uncached)."""
        validate_binary(binary)
        if cells.enabled(CONF):
            db_services = cells.at_minimum_version(
                CONF, binary, counted_since=counted_since())
        else:
            db_services = db_api.service_get_at_minimum_version(
                context, binary, counted_since=counted_since())
        return [cls._from_db_object(context, cls(), db_service)
                for db_service in db_services]

    # The minimum reads below answer from the cache of the process that
    # runs them (the conductor's, for a host without database access)
    # unless fresh is true: then they read the database, sharing a query
    # already under way, and the answer replaces the cached one.

    @classmethod
    @ovo_base.remotable
    def get_minimum_version(cls, context, binary, fresh=False):
        """Oldest version among counted records of binary; 0 if none."""
        return _minimum_version(context, binary, fresh=fresh)

    @classmethod
    @ovo_base.remotable
    def get_minimum_version_multi(cls, context, binaries, fresh=False):
        """Oldest version among counted records of all the binaries.

        Binaries with no counted record are ignored; 0 when none has any.
        """
        values = [v for v in _minimum_versions(context, binaries,
                                               fresh=fresh).values()
                  if v > 0]
        return min(values) if values else 0

    @classmethod
    @ovo_base.remotable
    def get_minimum_versions(cls, context, binaries, fresh=False):
        """dict binary -> minimum version (0 for none), in one query."""
        return _minimum_versions(context, binaries, fresh=fresh)

    @classmethod
    def clear_min_version_cache(cls):
        """Forget cached minimum versions in this process."""
        MIN_VERSION_CACHE.clear()

    # -- writes --------------------------------------------------------

    def create(self, conf=None):
        """Register a new record at this code's service version.

        :param conf: the configuration of the service registering (default:
            the global one); its [versioning]/emulated_release, if any,
            decides the version written. Lets several services of different
            releases share one process.
        :raises ServiceTooOld: this version is older than the minimum of the
            other live records of the binary; nothing is written.
        """
        if self.obj_attr_is_set('id'):
            raise exception.ObjectActionError(action='create',
                                              reason='already created')
        validate_binary(self.binary if self.obj_attr_is_set('binary')
                        else None)
        self._set_version(history.this_service_version(conf))
        self._create()

    @ovo_base.remotable
    def _create(self):
        updates = self.obj_get_changes()
        validate_binary(updates.get('binary'))
        refuse_nova_database(updates.get('host'), updates.get('binary'))
        # Taken before the guard reads: a clear or forget since makes the
        # seed below a no-op.
        generation = MIN_VERSION_CACHE.generation
        db_service, minver = self._guarded_create(updates)
        # A cached minimum stays right: the guard admitted this record only
        # at or above it, and adding a row never raises a minimum. So a
        # storm of registrations shares one minimum query per TTL.
        if not minver and not db_service.forced_down:
            # The first counted record of its binary: its version is the
            # minimum (see MinimumVersionCache.seed for why that holds
            # across processes), so the next registrations and lookups do
            # not read again just to find it.
            MIN_VERSION_CACHE.seed(db_service.binary, db_service.version,
                                   generation)
        self._from_db_object(self._context, self, db_service)

    @db_api.retry_on_conflict
    def _guarded_create(self, updates):
        # Guard and insert in one transaction: a refusal writes nothing.
        with db_api.main_context_manager.writer.using(self._context):
            minver = self._check_minimum_version(own_record=None)
            return db_api.service_create(self._context, updates), minver

    def save(self, conf=None):
        """Write the changes.

        A save that changes only state fields (STATE_FIELDS: heartbeat and
        administrative fields) leaves the recorded version alone. Any other
        save, including one with no change at all, re-registers the record:
        it writes this code's service version and runs the startup guard
        first.

        :param conf: as for create().

        :raises ServiceTooOld: on a re-registration older than the minimum
            of the other live records of the binary; nothing is written.
        """
        changes = self.obj_what_changed()
        if not changes or not changes <= STATE_FIELDS:
            self._set_version(history.this_service_version(conf))
        self._save()

    @ovo_base.remotable
    def _save(self):
        updates = self.obj_get_changes()
        updates.pop('id', None)
        if 'binary' in updates:
            validate_binary(updates['binary'])
        if not updates:
            return
        if 'version' in updates:
            refuse_nova_database(self.host, self.binary)
        db_service = self._guarded_update(updates)
        if _MINIMUM_FIELDS & set(updates):
            MIN_VERSION_CACHE.forget(db_service.binary)
        self._from_db_object(self._context, self, db_service)

    @db_api.retry_on_conflict
    def _guarded_update(self, updates):
        # Lock the row, guard a re-registration, update: one transaction.
        # A heartbeat (no version written) runs no guard: service_update
        # locks and reads the row once.
        with db_api.main_context_manager.writer.using(self._context):
            if 'version' in updates:
                own = db_api.service_get(self._context, self.id,
                                         for_update=True)
                self._check_minimum_version(own_record=own)
            return db_api.service_update(self._context, self.id, updates)

    @ovo_base.remotable
    def destroy(self):
        """Soft-delete the record: it stops counting toward the minimum."""
        db_service = db_api.service_destroy(self._context, self.id)
        MIN_VERSION_CACHE.forget(db_service.binary)
        self._from_db_object(self._context, self, db_service)

    def _check_minimum_version(self, own_record):
        """Refuse to register below the minimum of the other records.

        Runs inside the write transaction, so a refusal writes nothing.
        The minimum of the binary is read fresh, never from the cache: with
        several conductors another one may have admitted a newer record
        since this process cached its answer. When this host's own counted
        record may be the one holding it, the exact minimum of the other
        hosts is read.

        :returns: the minimum the guard judged against (0: none).
        """
        binary = self.binary
        context = self._context
        minver = _minimum_versions(context, [binary], fresh=True)[binary]
        if (own_record is not None and not own_record.forced_down
                and (own_record.version or 0) <= minver):
            # (With the stale service policy a stale own record does not
            # count toward the cached minimum; reading the others again is
            # then harmless.)
            minver = db_api.service_get_minimum_version_of_others(
                context, binary, own_record.host,
                counted_since=counted_since())
        if minver and self.version < minver:
            hist = history.get_history()
            LOG.error('Refusing to %(action)s the %(binary)s record of host '
                      '%(host)s: its version %(thisver)s is older than the '
                      'minimum %(minver)s of the other %(binary)s services.',
                      {'action': 'update' if own_record else 'create',
                       'binary': binary,
                       'host': records.printable(self.host),
                       'thisver': hist.describe(self.version),
                       'minver': hist.describe(minver)})
            raise exception.ServiceTooOld(
                thisver=self.version, minver=minver,
                host=records.printable(self.host),
                binary=binary, history=hist)
        return minver
