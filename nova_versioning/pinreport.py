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
"""Which hosts hold each RPC version pin down, and what if they did not.

The operator's view of ``auto``: the service records are read once
(:meth:`Fleet.load`), then everything is computed from them in memory, with
the same rules as the database queries of the services (deleted and
forced-down records never count; with ``[versioning]/stale_service_timeout``
set, neither do records without a recent heartbeat) and the same pure
resolution (:func:`nova_versioning.rpc.pinning.resolve`). A what-if is the
same computation over records changed in memory: nothing is ever written.

:meth:`Fleet.report` returns the report as plain data, the JSON document
``nova-versioning-status pins --format json`` prints (see
``doc/source/admin/rolling-upgrade.rst`` for its shape).
"""

import dataclasses
import datetime

from oslo_utils import timeutils

from nova_versioning import cells
from nova_versioning import conf as nv_conf
from nova_versioning import exception
from nova_versioning import history as nv_history
from nova_versioning import objects
from nova_versioning.objects import service as service_obj
from nova_versioning import records
from nova_versioning.rpc import client as rpc_client
from nova_versioning.rpc import pinning

# What a decision of this code can fail with: a value or history it cannot
# be made with, or receivers newer than this code where the API does not
# expect them (see PinnedRPCAPI.NEWER_RECEIVERS_EXPECTED).
RESOLUTION_ERRORS = (exception.InvalidPin, exception.InvalidHistory,
                     exception.ServiceTooOld)

# With the stale service policy off, a record looks stale (it is reported,
# and still counts) after this many missed heartbeats: Nova's
# service_down_time (60 s) is six of its report_interval (10 s).
MISSED_HEARTBEATS = 6

HEARTBEAT_FORMAT = '%Y-%m-%dT%H:%M:%SZ'


def format_time(value):
    """ISO 8601 UTC text of a datetime, to the second; None stays None."""
    if value is None:
        return None
    value = timeutils.normalize_time(value)
    if value == records.ZERO_DATE:
        return '0000-00-00T00:00:00Z'
    return value.strftime(HEARTBEAT_FORMAT)


@dataclasses.dataclass(frozen=True)
class Record(object):
    """What the report needs of one live service record.

    :ivar last_heartbeat: naive UTC datetime, or None.
    :ivar stale: the last heartbeat is older than the stale threshold.
    :ivar counted: the record counts toward the minimum version of its
        binary (not forced down, and not stale under the policy).
    :ivar cell: the name (else uuid) of the record's cell, when the
        records are read from every cell of [api_database]; else None.

    ``version`` is as recorded (NULL reads 0); :attr:`effective_version`
    is what it counts as (see :mod:`nova_versioning.records`).
    """

    host: str
    binary: str
    version: int
    forced_down: bool
    disabled: bool
    last_heartbeat: object
    stale: bool
    counted: bool
    cell: object = None

    @property
    def version_known(self):
        return records.version_known(self.version)

    @property
    def effective_version(self):
        return records.effective_version(self.version)


class Fleet(object):
    """The live service records, read once, and the rules that count them.

    :param services: Service objects (live records).
    :param conf: the configuration (stale policy, report interval, pins).
    :param history: the VersionHistory (default: the configured one).
    :param now: naive UTC datetime the heartbeats are judged against.
    """

    def __init__(self, services, conf=None, history=None, now=None):
        self.conf = conf if conf is not None else nv_conf.CONF
        self.history = (history if history is not None
                        else nv_history.get_history(self.conf))
        self.service_version = self.history.service_version
        self.now = now if now is not None else timeutils.utcnow()
        self.timeout = self.conf.versioning.stale_service_timeout
        self.policy = bool(self.timeout)
        self.stale_after = (self.timeout if self.policy else
                            MISSED_HEARTBEATS * self.conf.report_interval)
        self._cutoff = self.now - datetime.timedelta(seconds=self.stale_after)
        self.upgraded = ()
        self.removed = ()
        self.records = [self._record(service) for service in services]

    @classmethod
    def load(cls, context, conf=None, history=None, now=None):
        """Read every live record (one query, or one per cell).

        With [api_database]/connection set, the records of every cell
        (see :mod:`nova_versioning.cells`).
        """
        conf = conf if conf is not None else nv_conf.CONF
        if cells.enabled(conf):
            services = cells.get_all(conf)
        else:
            services = objects.Service.get_all(context)
        return cls(services, conf=conf, history=history, now=now)

    def _record(self, service):
        heartbeat = service.last_heartbeat
        if heartbeat is not None:
            heartbeat = timeutils.normalize_time(heartbeat)
        return self._judge(host=service.host, binary=service.binary,
                           version=service.version,
                           forced_down=service.forced_down,
                           disabled=service.disabled,
                           last_heartbeat=heartbeat,
                           cell=getattr(service, 'cell', None))

    def _judge(self, **fields):
        # A record without any timestamp counts, as in the SQL filter.
        heartbeat = fields['last_heartbeat']
        stale = heartbeat is not None and heartbeat < self._cutoff
        counted = not fields['forced_down'] and not (self.policy and stale)
        return Record(stale=stale, counted=counted, **fields)

    # -- what-if -------------------------------------------------------

    @property
    def hosts(self):
        return sorted({record.host for record in self.records
                       if record.host is not None})

    def _check_hosts(self, hosts, option):
        known = self.hosts
        unknown = sorted(set(hosts) - set(known))
        if unknown:
            raise exception.InvalidWhatIf(
                reason='%s names hosts without any live service record: '
                       '%s (hosts recorded: %s)'
                       % (option, ', '.join(unknown),
                          hosts_text(known) or 'none'))

    def what_if(self, upgraded=(), removed=()):
        """A copy of the fleet as if some hosts were upgraded or removed.

        :param upgraded: hosts whose records (of every binary) run this
            code's service version and have just sent a heartbeat.
        :param removed: hosts whose records are gone.
        :raises InvalidWhatIf: a host without any live record, or a host
            given in both.
        """
        upgraded = sorted(set(upgraded))
        removed = sorted(set(removed))
        self._check_hosts(upgraded, '--assume-upgraded')
        self._check_hosts(removed, '--assume-removed')
        both = sorted(set(upgraded) & set(removed))
        if both:
            raise exception.InvalidWhatIf(
                reason='hosts given to both --assume-upgraded and '
                       '--assume-removed: %s' % ', '.join(both))
        fleet = object.__new__(Fleet)
        fleet.__dict__.update(self.__dict__)
        fleet.upgraded = tuple(sorted(set(self.upgraded) | set(upgraded)))
        fleet.removed = tuple(sorted(set(self.removed) | set(removed)))
        records = []
        for record in self.records:
            if record.host in removed:
                continue
            if record.host in upgraded:
                values = dataclasses.asdict(record)
                del values['stale'], values['counted']
                values.update(version=self.service_version,
                              last_heartbeat=self.now)
                record = self._judge(**values)
            records.append(record)
        fleet.records = records
        return fleet

    # -- counting ------------------------------------------------------

    def of(self, binary):
        """The records of ``binary``, by host."""
        return sorted((r for r in self.records if r.binary == binary),
                      key=_by_host)

    def minimum(self, binary, exclude=None):
        """Minimum version of the counted records of binary (0: none).

        :param exclude: optional predicate of records not to count.
        """
        versions = [r.effective_version for r in self.of(binary)
                    if r.counted and not (exclude and exclude(r))]
        return min(versions) if versions else 0

    def at_minimum(self, binary, exclude=None):
        minimum = self.minimum(binary, exclude)
        return [r for r in self.of(binary)
                if r.counted and not (exclude and exclude(r))
                and r.effective_version == minimum]

    def odd_records(self):
        """[(record, problem)] of the records no service writes as such.

        Each is read by the rules of :mod:`nova_versioning.records`; the
        operator commands report them. A counted record of unknown version
        holds the ``auto`` pins of its binary at the oldest version.
        """
        found = []
        seen = {}
        for record in self.records:
            problems = []
            if not record.version_known:
                problems.append(
                    'its version %s is unknown: it counts as version %d%s'
                    % (record.version, records.LOWEST_VERSION,
                       ' and holds the auto pins of %s down'
                       % records.printable(record.binary)
                       if record.counted else ''))
            if not record.host:
                problems.append('it has no host name')
            elif not record.host.isprintable():
                problems.append('its host name holds control characters')
            if not (isinstance(record.binary, str) and
                    service_obj.BINARY_RE.fullmatch(record.binary)):
                problems.append(
                    'its binary %r is not a nova-<name> binary (lower-case '
                    'ASCII letters, digits, - and _): no service counts it'
                    % (record.binary,))
            if record.last_heartbeat == records.ZERO_DATE:
                problems.append('its last heartbeat is a zero date')
            key = (record.host, record.binary)
            if key in seen:
                problems.append('it is a second live record of %s on this '
                                'host' % records.printable(record.binary))
            seen[key] = record
            found.extend((record, problem) for problem in problems)
        return found

    def auto_decision(self, api, exclude=None):
        """What ``auto`` chooses now for ``api``.

        :raises: one of RESOLUTION_ERRORS.
        """
        binary = binary_of(api)
        return pinning.resolve(
            api, pinning.AUTO, self.history,
            minimum_version=self.minimum(binary, exclude),
            hosts=[r.host for r in self.at_minimum(binary, exclude)],
            binary=binary,
            newer_receivers_expected=newer_receivers_expected(api),
            code_latest=rpc_client.code_latest(api))

    def decision(self, api):
        """The decision for the configured value of ``api``."""
        configured = self.conf.upgrade_levels[api]
        latest = rpc_client.code_latest(api)
        source, _cap = pinning.parse_pin(api, configured, self.history,
                                         code_latest=latest)
        if source == pinning.SOURCE_AUTO:
            return self.auto_decision(api)
        return pinning.resolve(api, configured, self.history,
                               binary=binary_of(api), code_latest=latest)

    def apis(self):
        """The APIs reported.

        Those of the history that have an [upgrade_levels] option, then
        those the history does not describe but whose option is set.
        """
        group = self.conf.upgrade_levels
        described = [api for api in self.history.apis if api in group]
        return described + [
            api for api in sorted(rpc_client.sample_apis())
            if api not in described and api in group
            and not self.history.describes(api)
            and group[api] is not None and str(group[api]).strip()]

    def undescribed_apis(self):
        """[upgrade_levels] APIs the history does not describe."""
        return [api for api in sorted(self.conf.upgrade_levels.keys())
                if not self.history.describes(api)]

    def newer_than_history(self):
        """Live records of a service version the history does not know."""
        return sorted((r for r in self.records
                       if r.version > self.service_version),
                      key=lambda r: (r.binary, r.host))

    # -- the report ----------------------------------------------------

    @property
    def all_cells(self):
        """The records are those of every cell of [api_database]."""
        return cells.enabled(self.conf)

    def describe_record(self, record):
        known = record.version_known
        described = {
            'host': (records.printable(record.host)
                     if record.host is not None else None),
            'version': record.version,
            'release': (self.history.release_of(record.version)
                        if known else None),
            'last_heartbeat': format_time(record.last_heartbeat),
        }
        if self.all_cells:
            described['cell'] = record.cell
        return described

    def _api_report(self, api):
        binary = binary_of(api)
        described = self.history.describes(api)
        entry = {
            'api': api,
            'binary': binary,
            'configured': self.conf.upgrade_levels[api],
            'described': described,
            'cap': None,
            'source': None,
            'auto_cap': None,
            'latest_cap': (self.history.latest_rpc_version(api)
                           if described else rpc_client.code_latest(api)),
            'error': None,
            'auto_error': None,
            'warning': None,
        }
        # The configured value and auto are judged apart: an auto that
        # cannot be decided must not hide a valid explicit pin.
        try:
            entry['auto_cap'] = self.auto_decision(api).cap
        except RESOLUTION_ERRORS as exc:
            entry['auto_error'] = str(exc)
        try:
            decision = self.decision(api)
            entry['cap'] = decision.cap
            entry['source'] = decision.source
            entry['warning'] = decision.warning
        except RESOLUTION_ERRORS as exc:
            entry['error'] = str(exc)
        minimum = self.minimum(binary)
        records = self.of(binary)
        entry.update({
            'minimum_version': minimum,
            'minimum_release': (self.history.release_of(minimum)
                                if minimum else None),
            'at_minimum': [self.describe_record(r)
                           for r in self.at_minimum(binary)],
            'stale': [dict(self.describe_record(r), counted=r.counted)
                      for r in records if r.stale and not r.forced_down],
            'forced_down': [self.describe_record(r)
                            for r in records if r.forced_down],
        })
        return entry

    def report(self):
        """The pins report as plain data (see the module doc)."""
        return {
            'service_version': self.service_version,
            'release': self.history.release_of(self.service_version),
            'history': self.history.name,
            'history_source': self.history.source,
            'undescribed_apis': self.undescribed_apis(),
            'newer_than_history': [
                dict(self.describe_record(r), binary=r.binary)
                for r in self.newer_than_history()],
            'stale_service_timeout': self.timeout,
            'stale_after': self.stale_after,
            'what_if': {'upgraded': list(self.upgraded),
                        'removed': list(self.removed)},
            'apis': [self._api_report(api) for api in self.apis()],
            'odd_records': [dict(self.describe_record(record),
                                 binary=records.printable(record.binary),
                                 problem=problem)
                            for record, problem in self.odd_records()],
        }

    def describe_service(self, record):
        """One record for ``nova-versioning-manage service list``."""
        return dict(self.describe_record(record),
                    binary=record.binary,
                    forced_down=record.forced_down,
                    disabled=record.disabled,
                    stale=record.stale,
                    counted=record.counted)


def _by_host(record):
    # A record without a host name sorts first.
    return (record.host is not None, record.host or '')


def hosts_text(hosts, limit=pinning.MAX_HOSTS_LOGGED):
    """"a, b, c" naming at most ``limit`` hosts, then "and N more"."""
    hosts = [records.printable(host) for host in hosts]
    text = ', '.join(hosts[:limit])
    if len(hosts) > limit:
        text += ' and %d more' % (len(hosts) - limit)
    return text


def newer_receivers_expected(api):
    """The stance of the RPC API client of ``api`` on newer receivers.

    An API without a client class here (another deployment's history) is
    treated as the default stance of PinnedRPCAPI: refuse.
    """
    cls = rpc_client.sample_apis().get(api)
    return bool(cls is not None and cls.NEWER_RECEIVERS_EXPECTED)


def binary_of(api):
    """The binary that receives ``api`` ("nova-<api>")."""
    return 'nova-%s' % api
