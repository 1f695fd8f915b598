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
"""Service version history: what each recorded service version understands.

Every service records one integer in its ``services`` row: the service
version of the code it runs. The history maps each service version to the
RPC version of every RPC API that code speaks, which is what lets a newer
client cap what it sends to the oldest receiver still running.

A history is supplied by a provider registered in the
``nova_versioning.history`` entry point group and selected with
``[versioning]/history_provider``. The default provider describes the
sample services shipped with this library; a deployment of another oslo
service plugs in its own :class:`VersionHistory`.
"""

import dataclasses
import re
import threading

from oslo_log import log as logging
from stevedore import driver

from nova_versioning import conf as nv_conf
from nova_versioning import exception

LOG = logging.getLogger(__name__)

HISTORY_NAMESPACE = 'nova_versioning.history'

# At most 9 digits a part: every part fits in 32 bits, and a value of
# thousands of digits is refused before int() is asked to read it.
_RPC_VERSION_RE = re.compile(r'(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})')
_ALIAS_RE = re.compile(r'[a-z][a-z0-9_.-]*')
_OBJECT_NAME_RE = re.compile(r'[A-Za-z][A-Za-z0-9_]{0,99}')
_RPC_SUFFIX = '_rpc'


# Longer numbers are no RPC version anyone sends; refusing them early also
# keeps int() away from values of thousands of digits.
_MAX_VERSION_TEXT = 32


def is_number(text, digits=9):
    """True for 1 to ``digits`` ASCII digits.

    str.isdigit() alone also takes '²' and other Unicode digits, which
    int() refuses.
    """
    return (isinstance(text, str) and 0 < len(text) <= digits
            and text.isascii() and text.isdigit())


def parse_rpc_version(value):
    """Return (major, minor) for an "X.Y" RPC version, or None."""
    if not isinstance(value, str) or len(value) > _MAX_VERSION_TEXT:
        return None
    match = _RPC_VERSION_RE.fullmatch(value)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


# Where the oldest supported release starts.
#: The first service version after the release before it: a release names
#: the last service version it shipped, and every version up to it belongs
#: to it (the sample services' rule).
AFTER_PREVIOUS_RELEASE = 'after-previous-release'
#: The very service version the release names: versions between the
#: previous release and it (development versions) are too old (Nova's
#: rule, ``nova.utils.raise_if_old_compute``).
AT_RELEASE = 'at-release'

#: Explicit and release-name pins older than the oldest supported release.
REFUSE = 'refuse'
WARN = 'warn'

#: Which explicit "X.Y" versions a pin may give.
#: Of the current major version only, from the oldest supported release's.
CURRENT_MAJOR = 'current-major'
#: Any version the API's history or release aliases know, of any major
#: version, up to the latest (Nova accepts any pin its API can send).
KNOWN = 'known'


@dataclasses.dataclass(frozen=True)
class HistoryRules(object):
    """The compatibility rules a history is read by.

    Pinning, the guards and the reports ask the history, never which
    provider it came from; a provider declares its project's rules here.

    :ivar oldest_supported_starts: AFTER_PREVIOUS_RELEASE or AT_RELEASE.
    :ivar shared_release_versions: several releases may name one service
        version (releases without any service version bump).
    :ivar old_pins: REFUSE or WARN, for explicit and release-name pins
        older than the oldest supported release.
    :ivar explicit_versions: CURRENT_MAJOR or KNOWN.
    :ivar product: how messages name the project ("Current <product>
        version does not support computes older than ...").
    """

    oldest_supported_starts: str = AFTER_PREVIOUS_RELEASE
    shared_release_versions: bool = False
    old_pins: str = REFUSE
    explicit_versions: str = CURRENT_MAJOR
    product: str = 'nova_versioning'

    def __post_init__(self):
        choices = {
            'oldest_supported_starts': (AFTER_PREVIOUS_RELEASE, AT_RELEASE),
            'old_pins': (REFUSE, WARN),
            'explicit_versions': (CURRENT_MAJOR, KNOWN),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError('HistoryRules.%s must be one of %s, not %r'
                                 % (name, ', '.join(allowed),
                                    getattr(self, name)))


DEFAULT_RULES = HistoryRules()


class VersionHistory(object):
    """An immutable, validated service version history.

    :param name: name used in messages (the provider's name).
    :param history: sequence indexed by service version; each entry maps
        ``<api>_rpc`` to the "X.Y" RPC version of that API at that service
        version. An API may start later than version 0 (it is then
        described from its first entry on) and its major version may go
        up; it never goes down, and an entry never drops an API.
    :param releases: ordered mapping of lower-case release name to the
        service version of that release, oldest first (see
        :class:`HistoryRules` for what the version means and whether
        releases may share one).
    :param oldest_supported: name of the oldest release the newest code
        still supports as a peer.
    :param rpc_aliases: optional ``{api: {release name: "X.Y"}}``: release
        names that pin an API straight to an RPC version, oldest first;
        they may name releases older than the history (Nova's
        ``ComputeAPI.VERSION_ALIASES``). A release name found here pins to
        this version rather than through ``releases``.
    :param rules: the :class:`HistoryRules` (default: the sample services'
        rules).
    :param source: where the table comes from, for reports ("built in",
        "live Nova 34.0.0", "snapshot of Nova 34.0.0").
    :param object_versions: optional sequence indexed by service version,
        as long as ``history``: each entry maps the name of every versioned
        object the code of that service version knows to its "X.Y"
        version (the object manifest of that release). An object never
        goes down and, once known, is never dropped. Without it (Nova's
        provider) senders cannot cap what they send: a receiver that
        cannot read an object asks a conductor to backport it.
    """

    def __init__(self, name, history, releases, oldest_supported,
                 rpc_aliases=None, rules=None, source='built in',
                 object_versions=None):
        self.name = name
        self.entries = tuple(dict(entry) for entry in history)
        self.object_versions = (
            None if object_versions is None
            else tuple(dict(entry) for entry in object_versions))
        self.releases = dict(releases)
        self.oldest_supported = oldest_supported
        self.rpc_aliases = {api: dict(aliases)
                            for api, aliases in (rpc_aliases or {}).items()}
        self.rules = rules if rules is not None else DEFAULT_RULES
        self.source = source
        self.validate()

    # -- validation --------------------------------------------------------

    def _invalid(self, reason):
        return exception.InvalidHistory(name=self.name, reason=reason)

    def validate(self):
        """Raise InvalidHistory unless the table is internally consistent."""
        if not self.entries:
            raise self._invalid('the history is empty')
        apis = set(self.entries[-1])
        if not apis:
            raise self._invalid('the newest entry names no RPC API')
        previous = {}
        for version, entry in enumerate(self.entries):
            for key, rpc_version in entry.items():
                if not key.endswith(_RPC_SUFFIX):
                    raise self._invalid(
                        'entry %d: key %r does not end with %r'
                        % (version, key, _RPC_SUFFIX))
                parsed = parse_rpc_version(rpc_version)
                if parsed is None:
                    raise self._invalid(
                        'entry %d: %s=%r is not an "X.Y" version'
                        % (version, key, rpc_version))
                if key in previous and parsed < previous[key]:
                    raise self._invalid(
                        'entry %d: %s goes down from %s to %s'
                        % (version, key, '%d.%d' % previous[key],
                           rpc_version))
                previous[key] = parsed
            missing = set(previous) - set(entry)
            if missing:
                raise self._invalid('entry %d drops %s'
                                    % (version, ', '.join(sorted(missing))))
        last = 0
        for alias, version in self.releases.items():
            if not isinstance(alias, str) or not _ALIAS_RE.fullmatch(alias):
                raise self._invalid(
                    'release name %r is not a lower-case name' % (alias,))
            if parse_rpc_version(alias) is not None or alias == 'auto':
                raise self._invalid(
                    'release name %r is ambiguous with a pin value' % alias)
            if not isinstance(version, int) or isinstance(version, bool):
                raise self._invalid(
                    'release %s maps to %r, not a service version'
                    % (alias, version))
            if not 1 <= version <= self.service_version:
                raise self._invalid(
                    'release %s maps to service version %d, outside 1..%d'
                    % (alias, version, self.service_version))
            if version < last or (
                    version == last
                    and not self.rules.shared_release_versions):
                raise self._invalid(
                    'release %s (service version %d) does not come after '
                    'the previous release (service version %d)'
                    % (alias, version, last))
            last = version
        if self.oldest_supported not in self.releases:
            raise self._invalid(
                'oldest supported release %r is not a known release'
                % (self.oldest_supported,))
        self._validate_rpc_aliases()
        self._validate_object_versions()

    def _validate_object_versions(self):
        if self.object_versions is None:
            return
        if len(self.object_versions) != len(self.entries):
            raise self._invalid(
                'the object manifests describe %d service versions, the '
                'history %d' % (len(self.object_versions),
                                len(self.entries)))
        previous = {}
        for version, manifest in enumerate(self.object_versions):
            for name, object_version in manifest.items():
                if not isinstance(name, str) or not _OBJECT_NAME_RE.fullmatch(
                        name):
                    raise self._invalid(
                        'object manifest %d: %r is not an object name'
                        % (version, name))
                parsed = parse_rpc_version(object_version)
                if parsed is None:
                    raise self._invalid(
                        'object manifest %d: %s=%r is not an "X.Y" version'
                        % (version, name, object_version))
                if name in previous and parsed < previous[name]:
                    raise self._invalid(
                        'object manifest %d: %s goes down from %s to %s'
                        % (version, name, '%d.%d' % previous[name],
                           object_version))
                previous[name] = parsed
            missing = set(previous) - set(manifest)
            if missing:
                raise self._invalid('object manifest %d drops %s'
                                    % (version, ', '.join(sorted(missing))))

    def check_registered_objects(self, registered):
        """Raise InvalidHistory unless the newest manifest is the code's.

        :param registered: {object name: the "X.Y" version this code
            registers}: every one must be in the newest manifest, at that
            version (an object whose version was bumped without a history
            entry is refused), and the manifest names nothing else.
        """
        if self.object_versions is None:
            return
        newest = self.object_versions[-1]
        for name, version in sorted(registered.items()):
            if name not in newest:
                raise self._invalid(
                    'the code registers object %s %s, which the newest '
                    'object manifest (service version %d) does not name'
                    % (name, version, self.service_version))
            if newest[name] != version:
                raise self._invalid(
                    'the code registers object %s %s, the newest object '
                    'manifest (service version %d) says %s: record the '
                    'object version in the history'
                    % (name, version, self.service_version, newest[name]))
        extra = sorted(set(newest) - set(registered))
        if extra:
            raise self._invalid(
                'the newest object manifest names %s, which the code does '
                'not register' % ', '.join(extra))

    def _validate_rpc_aliases(self):
        if not isinstance(self.rpc_aliases, dict):
            raise self._invalid('the RPC release aliases are not a mapping')
        for api, aliases in self.rpc_aliases.items():
            if api not in self.apis:
                raise self._invalid(
                    'RPC release aliases are given for the %s RPC API, '
                    'which the history does not describe' % (api,))
            latest = parse_rpc_version(self.latest_rpc_version(api))
            previous = None
            for alias, rpc_version in aliases.items():
                if not isinstance(alias, str) or not _ALIAS_RE.fullmatch(
                        alias):
                    raise self._invalid(
                        '%s RPC release alias %r is not a lower-case name'
                        % (api, alias))
                if parse_rpc_version(alias) is not None or alias == 'auto':
                    raise self._invalid(
                        '%s RPC release alias %r is ambiguous with a pin '
                        'value' % (api, alias))
                parsed = parse_rpc_version(rpc_version)
                if parsed is None:
                    raise self._invalid(
                        '%s RPC release alias %s=%r is not an "X.Y" version'
                        % (api, alias, rpc_version))
                if parsed > latest:
                    raise self._invalid(
                        '%s RPC release alias %s=%s is newer than the '
                        'latest %s RPC version of the history, %s'
                        % (api, alias, rpc_version, api,
                           self.latest_rpc_version(api)))
                if previous is not None and parsed < previous[1]:
                    raise self._invalid(
                        '%s RPC release alias %s=%s goes down from %s=%s'
                        % (api, alias, rpc_version, previous[0],
                           '%d.%d' % previous[1]))
                previous = (alias, parsed)

    # -- queries -----------------------------------------------------------

    @property
    def service_version(self):
        """The newest service version: the one this code records."""
        return len(self.entries) - 1

    @property
    def apis(self):
        """Names of the RPC APIs the history describes (without _rpc)."""
        return sorted(key[:-len(_RPC_SUFFIX)] for key in self.entries[-1])

    @property
    def oldest_supported_version(self):
        """The oldest service version still supported as a peer.

        By the history's rules: the first service version after the release
        before the oldest supported one, or the very version that release
        names.
        """
        if self.rules.oldest_supported_starts == AT_RELEASE:
            return self.releases[self.oldest_supported]
        names = list(self.releases)
        index = names.index(self.oldest_supported)
        previous = [self.releases[name] for name in names[:index]
                    if self.releases[name] < self.releases[
                        self.oldest_supported]]
        if not previous:
            return 1
        return previous[-1] + 1

    @property
    def has_object_manifests(self):
        """Whether the history records the object versions of releases."""
        return self.object_versions is not None

    def object_manifest(self, service_version):
        """{object name: "X.Y"} the code of ``service_version`` knows.

        None when the history records no object manifests.
        """
        if self.object_versions is None:
            return None
        if not 0 <= service_version <= self.service_version:
            raise self._invalid(
                'service version %d is outside 0..%d'
                % (service_version, self.service_version))
        return dict(self.object_versions[service_version])

    def rpc_version(self, api, service_version):
        """The RPC version of ``api`` spoken at ``service_version``."""
        if not 0 <= service_version <= self.service_version:
            raise self._invalid(
                'service version %d is outside 0..%d'
                % (service_version, self.service_version))
        key = api + _RPC_SUFFIX
        try:
            return self.entries[service_version][key]
        except KeyError:
            raise self._invalid(
                'service version %d does not name the %s RPC version (%s)'
                % (service_version, api, key))

    def latest_rpc_version(self, api):
        return self.rpc_version(api, self.service_version)

    def as_of(self, service_version):
        """The history as the code of ``service_version`` knew it.

        Entries and releases after it are cut off; that is what an older
        release would find in its own code, and what a process emulating
        it must behave by (for example it cannot send a newer RPC version).
        """
        if service_version == self.service_version:
            return self
        releases = {alias: version for alias, version in self.releases.items()
                    if version <= service_version}
        oldest = self.oldest_supported
        if oldest not in releases:
            oldest = next(iter(releases))
        entries = self.entries[:service_version + 1]
        aliases = {}
        for api, names in self.rpc_aliases.items():
            if api + _RPC_SUFFIX not in entries[-1]:
                continue
            latest = parse_rpc_version(entries[-1][api + _RPC_SUFFIX])
            aliases[api] = {alias: rpc for alias, rpc in names.items()
                            if parse_rpc_version(rpc) <= latest
                            and self.releases.get(alias, 0)
                            <= service_version}
        object_versions = (
            None if self.object_versions is None
            else self.object_versions[:service_version + 1])
        return VersionHistory(self.name, entries, releases, oldest,
                              rpc_aliases=aliases, rules=self.rules,
                              source=self.source,
                              object_versions=object_versions)

    def release_of(self, service_version):
        """Name of the release that shipped ``service_version``, or None.

        Releases sharing that service version are named together
        ("antelope/bobcat/caracal").
        """
        for alias, version in self.releases.items():
            if service_version <= version:
                return '/'.join(name for name, shared in
                                self.releases.items() if shared == version)
        return None

    def describes(self, api):
        """Whether the history gives the RPC versions of ``api``."""
        return api + _RPC_SUFFIX in self.entries[-1]

    def known_rpc_versions(self, api):
        """Every "X.Y" of ``api`` the history and its aliases name."""
        found = set()
        for entry in self.entries:
            if api + _RPC_SUFFIX in entry:
                found.add(parse_rpc_version(entry[api + _RPC_SUFFIX]))
        for rpc_version in self.rpc_aliases.get(api, {}).values():
            found.add(parse_rpc_version(rpc_version))
        return ['%d.%d' % version for version in sorted(found)]

    def describe_source(self):
        """"<name> (<source>)", for reports."""
        return '%s (%s)' % (self.name, self.source)

    def describe(self, service_version):
        """"<N> (<release>)" for log and error messages."""
        release = self.release_of(service_version)
        if release is None:
            return str(service_version)
        return '%d (%s)' % (service_version, release)

    def parse_release(self, value, option):
        """Turn a release name or a service version number into a version.

        :raises InvalidRelease: naming ``option``, the value and the
            allowed forms.
        """
        text = str(value).strip().lower()
        if text in self.releases:
            return self.releases[text]
        if is_number(text) and 1 <= int(text) <= self.service_version:
            return int(text)
        raise exception.InvalidRelease(
            option=option, value=value,
            allowed='a release name (%s) or a service version from 1 to %d'
            % (', '.join(self.releases), self.service_version))


# The history of the sample services shipped with this library (compute,
# conductor, scheduler). One entry per service version bump, with why.
# Index 0 is the baseline: no running service records 0, which stays free
# to mean "no such services" in a minimum-version lookup.
SERVICE_VERSION_HISTORY = (
    # Version 0: baseline before any service recorded its version.
    {'compute_rpc': '6.0', 'conductor_rpc': '3.0', 'scheduler_rpc': '2.0'},
    # Version 1: services record their version in the services table.
    {'compute_rpc': '6.0', 'conductor_rpc': '3.0', 'scheduler_rpc': '2.0'},
    # Version 2: compute 6.1 adds get_host_uptime().
    {'compute_rpc': '6.1', 'conductor_rpc': '3.0', 'scheduler_rpc': '2.0'},
    # Version 3: compute 6.2, reboot_instance() takes reboot_type;
    # conductor 3.1 adds ping().
    {'compute_rpc': '6.2', 'conductor_rpc': '3.1', 'scheduler_rpc': '2.0'},
    # Version 4: scheduler 2.1, select_destinations() takes limit.
    {'compute_rpc': '6.2', 'conductor_rpc': '3.1', 'scheduler_rpc': '2.1'},
    # Version 5: compute 6.3 adds backup_instance().
    {'compute_rpc': '6.3', 'conductor_rpc': '3.1', 'scheduler_rpc': '2.1'},
    # Version 6: compute 6.4, backup_instance() takes rotation; conductor
    # 3.2, ping() takes trace_id.
    {'compute_rpc': '6.4', 'conductor_rpc': '3.2', 'scheduler_rpc': '2.1'},
    # Version 7: compute 6.5, ping() takes trace_id; scheduler 2.2 adds
    # update_host_state().
    {'compute_rpc': '6.5', 'conductor_rpc': '3.2', 'scheduler_rpc': '2.2'},
)

# The versioned objects the code of each service version knows (its object
# manifest), indexed like SERVICE_VERSION_HISTORY. A sender caps every
# object it sends to the manifest of its receivers' service version; see
# nova_versioning.objects.task for what each object version added.
_TASK_1_0 = {'Service': '1.1', 'Task': '1.0', 'TaskList': '1.0',
             'TaskResources': '1.0'}
OBJECT_VERSION_HISTORY = (
    # Versions 0 to 5: Service 1.1; Task 1.0 (uuid, name, state,
    # resources) with TaskResources 1.0 (vcpus, memory_mb); TaskList 1.0.
    _TASK_1_0, _TASK_1_0, _TASK_1_0, _TASK_1_0, _TASK_1_0, _TASK_1_0,
    # Version 6 (pike): Task 1.1 adds priority; TaskList 1.1.
    {'Service': '1.1', 'Task': '1.1', 'TaskList': '1.1',
     'TaskResources': '1.0'},
    # Version 7 (queens): TaskResources 1.1 adds disk_gb; Task 1.2 adds
    # labels and holds TaskResources 1.1; TaskList 1.2.
    {'Service': '1.1', 'Task': '1.2', 'TaskList': '1.2',
     'TaskResources': '1.1'},
)

# Release name -> last service version of that release, oldest first.
RELEASES = {
    'liberty': 1,
    'mitaka': 2,
    'newton': 3,
    'ocata': 5,
    'pike': 6,
    'queens': 7,
}

# Peers older than this release are refused by control services.
OLDEST_SUPPORTED_RELEASE = 'ocata'

SERVICE_VERSION = len(SERVICE_VERSION_HISTORY) - 1


def default_history():
    """Entry point: the history of the sample services."""
    return VersionHistory('default', SERVICE_VERSION_HISTORY, RELEASES,
                          OLDEST_SUPPORTED_RELEASE,
                          rules=HistoryRules(product='sample service'),
                          object_versions=OBJECT_VERSION_HISTORY)


class HistoryRegistry(object):
    """Loads history providers once per name; clear() forgets them."""

    def __init__(self):
        self._lock = threading.Lock()
        self._loaded = {}

    def get(self, name):
        with self._lock:
            history = self._loaded.get(name)
            if history is None:
                history = self._load(name)
                self._loaded[name] = history
            return history

    @staticmethod
    def _load(name):
        try:
            mgr = driver.DriverManager(HISTORY_NAMESPACE, name,
                                       invoke_on_load=False)
        except Exception as exc:
            raise exception.InvalidHistory(
                name=name,
                reason='no provider of that name in the %s entry point '
                       'group (%s)' % (HISTORY_NAMESPACE, exc))
        history = mgr.driver()
        if not isinstance(history, VersionHistory):
            raise exception.InvalidHistory(
                name=name, reason='the provider returned %r, not a '
                                  'VersionHistory' % (history,))
        return history

    def clear(self):
        with self._lock:
            self._loaded.clear()


REGISTRY = HistoryRegistry()


def get_history(conf=None):
    """The history this process behaves by.

    The one selected by [versioning]/history_provider, cut off at the
    release given by [versioning]/emulated_release when that is set.
    """
    if conf is None:
        conf = nv_conf.CONF
    history = REGISTRY.get(conf.versioning.history_provider)
    emulated = conf.versioning.emulated_release
    if emulated:
        history = history.as_of(history.parse_release(
            emulated, '[versioning]/emulated_release'))
    return history


def governed_objects(conf=None):
    """The objects the object manifests govern, or None.

    The names in the newest manifest of the selected history (not cut off
    at [versioning]/emulated_release: an object a release predates is one
    that release does not know).
    """
    if conf is None:
        conf = nv_conf.CONF
    history = REGISTRY.get(conf.versioning.history_provider)
    manifest = history.object_manifest(history.service_version)
    return None if manifest is None else frozenset(manifest)


def this_service_version(conf=None):
    """The service version this process records and behaves as.

    The newest version of the selected history, unless
    [versioning]/emulated_release makes the process an older release.
    """
    return get_history(conf).service_version
