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
"""RPC version pin resolution: pure functions, no I/O, no configuration.

An ``[upgrade_levels]/<api>`` value is one of:

* unset or empty: the latest RPC version of the API in the history;
* ``auto``: the RPC version spoken by the oldest receiver, given its
  minimum service version (read by the caller). When every receiver runs
  newer code than this one, what happens is the API's stance, given by the
  caller (see :func:`resolve`);
* an explicit ``X.Y``: by the history's rules (:class:`HistoryRules
  <nova_versioning.history.HistoryRules>`), either of the current major
  version and no older than what the oldest supported release speaks, or
  any version the API's history knows; never newer than this code knows;
* a release name of the history (or of its RPC release aliases). By the
  history's rules, a pin older than the oldest supported release is
  refused, or accepted with a warning (:attr:`PinDecision.warning`).

An API the history does not describe (a history that gives only the
compute RPC versions, as Nova's does) is pinned by the sending code alone:
unset and ``auto`` use the code's latest version, given by the caller as
``code_latest``; an explicit version may not be newer than it.

:func:`resolve` turns the value into a :class:`PinDecision`; the caller
does the reading (configuration, minimum version, hosts) and the logging
(:func:`audit_message`, :func:`change_message`).
"""

import dataclasses

from nova_versioning import exception
from nova_versioning import history as nv_history
from nova_versioning import records

SOURCE_LATEST = 'latest'
SOURCE_EXPLICIT = 'explicit'
SOURCE_ALIAS = 'alias'
SOURCE_AUTO = 'auto'
# An API the history does not describe: the sending code's latest version.
SOURCE_UNDESCRIBED = 'undescribed'

AUTO = 'auto'

# How many hosts an audit line names before "and N more".
MAX_HOSTS_LOGGED = 10


@dataclasses.dataclass(frozen=True)
class PinDecision(object):
    """The version cap chosen for one RPC API, and why.

    :ivar api: the RPC API name ("compute").
    :ivar configured: the configured value as given, or None when unset.
    :ivar cap: the "X.Y" version cap.
    :ivar source: SOURCE_LATEST, SOURCE_EXPLICIT, SOURCE_ALIAS or
        SOURCE_AUTO.
    :ivar minimum_version: for auto, the minimum service version of the
        receivers (0: none recorded); None otherwise.
    :ivar hosts: for a back-levelled auto decision, the hosts recorded at
        the minimum version; empty otherwise.
    :ivar latest: the cap is the latest version of the API in the history.
    :ivar cacheable: False when the decision should be made again at the
        next use (auto with no receiver recorded yet).
    :ivar binary: the receiving binary ("nova-compute").
    :ivar warning: a line to log at WARNING with the decision (a pin
        older than the oldest supported release, under rules that accept
        it), or None.
    """

    api: str
    configured: object
    cap: str
    source: str
    minimum_version: object = None
    hosts: tuple = ()
    latest: bool = False
    cacheable: bool = True
    binary: object = None
    warning: object = None

    @property
    def back_levelled(self):
        return not self.latest


def _normalise(value):
    if value is None:
        return ''
    return str(value).strip().lower()


def _versions_of(api, history):
    """(service version, "X.Y") for every entry that names ``api``."""
    found = []
    for service_version in range(history.service_version + 1):
        try:
            found.append((service_version,
                          history.rpc_version(api, service_version)))
        except exception.InvalidHistory:
            continue
    return found


def _check_api(api, history):
    if api not in history.apis:
        raise exception.InvalidHistory(
            name=history.name,
            reason='it does not describe the %s RPC API (known APIs: %s)'
                   % (api, ', '.join(history.apis)))


def undescribed_message(api, history, code_latest):
    """The line saying a history does not describe ``api``."""
    return ('The %s history (%s) does not describe the %s RPC API: '
            '[upgrade_levels]/%s=auto and an unset value use the latest '
            'version this code sends, %s'
            % (history.name, history.source, api, api, code_latest))


def _parse_undescribed(api, value, history, code_latest):
    """parse_pin for an API the history does not describe."""
    text = _normalise(value)
    if not text or text == AUTO:
        return SOURCE_UNDESCRIBED, code_latest
    allowed = ("'auto', or a version X.Y from %s.0 to %s (the history %s "
               "does not describe the %s RPC API, so it knows no release "
               "names for it)" % (code_latest.split('.')[0], code_latest,
                                  history.name, api))
    parsed = nv_history.parse_rpc_version(text)
    latest = nv_history.parse_rpc_version(code_latest)
    if parsed is None:
        raise exception.InvalidPin(api=api, value=value, allowed=allowed)
    if parsed[0] != latest[0] or parsed > latest:
        raise exception.InvalidPin(
            api=api, value=value, allowed=allowed,
            reason='%s is not a version this code can send' % text)
    return SOURCE_EXPLICIT, '%d.%d' % parsed


def _refuses_old_pins(history):
    return history.rules.old_pins == nv_history.REFUSE


def _release_names(api, history):
    """Release names a pin of ``api`` may give, oldest first."""
    names = list(history.rpc_aliases.get(api, {}))
    names += [name for name in history.releases if name not in names]
    if not _refuses_old_pins(history):
        return names
    oldest = history.oldest_supported_version
    return [name for name in names
            if name not in history.rpc_aliases.get(api, {})
            and history.releases[name] >= oldest]


def oldest_supported_rpc(api, history):
    """The ``api`` RPC version of the oldest supported service version.

    Or the first version of the API, if it came later.
    """
    oldest = history.oldest_supported_version
    return next(rpc for version, rpc in _versions_of(api, history)
                if version >= oldest)


def explicit_range(api, history):
    """(lowest, latest) "X.Y" an explicit pin of ``api`` may give.

    The lowest is the version the oldest supported service version speaks
    (or the first version of the API, if it came later), raised to X.0 of
    the current major version.
    """
    _check_api(api, history)
    latest = history.latest_rpc_version(api)
    if history.rules.explicit_versions == nv_history.KNOWN:
        return history.known_rpc_versions(api)[0], latest
    major = nv_history.parse_rpc_version(latest)[0]
    lowest = oldest_supported_rpc(api, history)
    if nv_history.parse_rpc_version(lowest)[0] != major:
        lowest = '%d.0' % major
    return lowest, latest


def allowed_forms(api, history):
    """The allowed values of [upgrade_levels]/<api>, for error messages."""
    lowest, latest = explicit_range(api, history)
    if lowest == latest:
        version = 'version %s' % latest
    elif history.rules.explicit_versions == nv_history.KNOWN:
        version = ('a version from %s to %s that the %s RPC API knows'
                   % (lowest, latest, api))
    else:
        version = 'a version from %s to %s' % (lowest, latest)
    return "'auto', %s or a release name (%s)" % (
        version, ', '.join(_release_names(api, history)))


def _invalid(api, value, history, reason=None):
    return exception.InvalidPin(api=api, value=value,
                                allowed=allowed_forms(api, history),
                                reason=reason)


def _known_major_range(api, history, major):
    minors = [nv_history.parse_rpc_version(v)[1]
              for v in history.known_rpc_versions(api)
              if nv_history.parse_rpc_version(v)[0] == major]
    return (min(minors), max(minors)) if minors else None


def _parse_explicit(api, value, text, history):
    parsed = nv_history.parse_rpc_version(text)
    lowest, latest = explicit_range(api, history)
    if history.rules.explicit_versions == nv_history.KNOWN:
        if parsed > nv_history.parse_rpc_version(latest):
            raise _invalid(api, value, history,
                           '%s is newer than the latest %s RPC version this '
                           'code knows, %s' % (text, api, latest))
        known = _known_major_range(api, history, parsed[0])
        if known is None or not known[0] <= parsed[1] <= known[1]:
            raise _invalid(api, value, history,
                           '%s is not a version the %s RPC API knows'
                           % (text, api))
        return '%d.%d' % parsed
    if parsed[0] != nv_history.parse_rpc_version(latest)[0]:
        raise _invalid(api, value, history,
                       'major version %d is not the current %s RPC major '
                       'version %s' % (parsed[0], api, latest.split('.')[0]))
    if parsed > nv_history.parse_rpc_version(latest):
        raise _invalid(api, value, history,
                       '%s is newer than the latest %s RPC version this '
                       'code knows, %s' % (text, api, latest))
    if parsed < nv_history.parse_rpc_version(lowest):
        raise _invalid(api, value, history,
                       '%s is older than %s, the %s RPC version of the '
                       'oldest supported release %s'
                       % (text, lowest, api, history.oldest_supported))
    return '%d.%d' % parsed


def _parse_alias(api, value, text, history):
    aliases = history.rpc_aliases.get(api, {})
    if text in aliases:
        oldest = oldest_supported_rpc(api, history)
        if _refuses_old_pins(history) and (
                nv_history.parse_rpc_version(aliases[text])
                < nv_history.parse_rpc_version(oldest)):
            raise _invalid(api, value, history,
                           'release %s is older than the oldest supported '
                           'release %s' % (text, history.oldest_supported))
        return aliases[text]
    release_version = history.releases[text]
    if (_refuses_old_pins(history)
            and release_version < history.oldest_supported_version):
        raise _invalid(api, value, history,
                       'release %s is older than the oldest supported '
                       'release %s' % (text, history.oldest_supported))
    try:
        return history.rpc_version(api, release_version)
    except exception.InvalidHistory:
        raise _invalid(api, value, history,
                       'release %s does not have the %s RPC API'
                       % (text, api))


def parse_pin(api, value, history, code_latest=None):
    """Check an [upgrade_levels]/<api> value against the history.

    :returns: (source, cap): cap is the "X.Y" version for every source but
        SOURCE_AUTO, whose cap needs the minimum version (None here).
    :raises InvalidPin: a malformed version, an unknown release name, a
        version newer than the history knows or older than the oldest
        supported release, a version of another major version, a release
        older than the oldest supported or without the API.
    :param code_latest: the latest "X.Y" the sending code implements; with
        it, an API the history does not describe is pinned by the code
        alone (SOURCE_UNDESCRIBED, or SOURCE_EXPLICIT).
    :raises InvalidHistory: the history does not describe ``api`` and no
        ``code_latest`` was given.
    """
    if code_latest is not None and not history.describes(api):
        return _parse_undescribed(api, value, history, code_latest)
    _check_api(api, history)
    text = _normalise(value)
    if not text:
        return SOURCE_LATEST, history.latest_rpc_version(api)
    if text == AUTO:
        return SOURCE_AUTO, None
    if nv_history.parse_rpc_version(text) is not None:
        return SOURCE_EXPLICIT, _parse_explicit(api, value, text, history)
    if text in history.releases or text in history.rpc_aliases.get(api, {}):
        return SOURCE_ALIAS, _parse_alias(api, value, text, history)
    raise _invalid(api, value, history)


def old_pin_warning(api, source, cap, history):
    """The warning for a pin older than the oldest supported release.

    Only rules that accept such a pin let one through; None when the pin
    is not older.
    """
    if source not in (SOURCE_EXPLICIT, SOURCE_ALIAS):
        return None
    if not history.describes(api):
        return None
    oldest = oldest_supported_rpc(api, history)
    if (nv_history.parse_rpc_version(cap)
            >= nv_history.parse_rpc_version(oldest)):
        return None
    return ('[upgrade_levels]/%s caps the %s RPC version at %s, older than '
            '%s, the version of the oldest supported release %s: services '
            'of this release may not handle every message at that version. '
            'Use auto, or a version from %s on.'
            % (api, api, cap, oldest, history.oldest_supported, oldest))


def _is_latest(api, cap, history):
    return (nv_history.parse_rpc_version(cap)
            == nv_history.parse_rpc_version(history.latest_rpc_version(api)))


def _too_old(api, binary, minimum_version, history):
    message = (
        exception.ServiceTooOld.msg_fmt
        % {'thisver': history.service_version, 'minver': minimum_version}
        + ' This service is older than the %(binary)s services it sends '
        '%(api)s RPC messages to: their minimum service version is '
        '%(minver)d, newer than %(thisver)s, the newest service version this '
        'code knows (history %(name)s), so it cannot tell which %(api)s RPC '
        'version they accept. Upgrade this service to service version '
        '%(minver)d or newer: the services sending %(api)s RPC messages are '
        'upgraded before the %(binary)s services.'
        % {'binary': binary, 'api': api, 'minver': minimum_version,
           'thisver': history.describe(history.service_version),
           'name': history.name})
    return exception.ServiceTooOld(message=message,
                                   thisver=history.service_version,
                                   minver=minimum_version)


def _auto_cap(api, binary, minimum_version, history):
    try:
        return history.rpc_version(api, minimum_version)
    except exception.InvalidHistory:
        raise exception.InvalidHistory(
            name=history.name,
            reason='the oldest %(binary)s recorded is at service version '
                   '%(version)s, whose entry does not give the %(api)s RPC '
                   'version (%(api)s_rpc): cannot choose a version cap for '
                   '[upgrade_levels]/%(api)s=auto. Add %(api)s_rpc to that '
                   'entry of the history, or pin the %(api)s RPC version '
                   'explicitly.'
                   % {'binary': binary, 'version': minimum_version,
                      'api': api})


def resolve(api, configured, history, minimum_version=None, hosts=(),
            binary=None, newer_receivers_expected=False, code_latest=None):
    """Decide the version cap of ``api``.

    :param configured: the [upgrade_levels]/<api> value (None: unset).
    :param history: the VersionHistory this code runs with.
    :param minimum_version: for ``auto``, the minimum service version of
        the receiving binary (0: none recorded). Ignored otherwise.
    :param hosts: for ``auto``, the hosts recorded at the minimum version;
        kept only when the decision is back-levelled.
    :param binary: the receiving binary, for messages; "nova-<api>" when
        not given.
    :param newer_receivers_expected: the API's stance on ``auto`` with a
        minimum newer than this code's history. True: newer receivers are
        normal for this API (its receivers are upgraded first, as the
        conductors are), they read this code's latest version, which is
        the cap. False: this service was left behind by an upgrade (a
        controller still old while the computes it sends to are newer),
        and resolution refuses with ServiceTooOld.
    :param code_latest: see :func:`parse_pin`.
    :raises InvalidPin: see :func:`parse_pin`.
    :raises ServiceTooOld: ``auto`` with receivers newer than this code,
        unless ``newer_receivers_expected``.
    :raises InvalidHistory: ``auto`` with a minimum whose history entry
        lacks the API, or a history without the API.
    :raises ValueError: ``auto`` without a (non-negative) minimum version.
    """
    if binary is None:
        binary = 'nova-%s' % api
    if configured is not None and not str(configured).strip():
        configured = None
    source, cap = parse_pin(api, configured, history,
                            code_latest=code_latest)
    if source == SOURCE_UNDESCRIBED:
        return PinDecision(api=api, configured=configured, cap=cap,
                           source=source, latest=True, binary=binary)
    if source == SOURCE_EXPLICIT and not history.describes(api):
        return PinDecision(api=api, configured=configured, cap=cap,
                           source=source, binary=binary,
                           latest=(nv_history.parse_rpc_version(cap)
                                   == nv_history.parse_rpc_version(
                                       code_latest)))
    if source != SOURCE_AUTO:
        return PinDecision(api=api, configured=configured, cap=cap,
                           source=source,
                           latest=_is_latest(api, cap, history),
                           binary=binary,
                           warning=old_pin_warning(api, source, cap,
                                                   history))
    if minimum_version is None or minimum_version < 0:
        raise ValueError('[upgrade_levels]/%s=auto needs the minimum '
                         'service version of %s, got %r'
                         % (api, binary, minimum_version))
    if minimum_version == 0:
        return PinDecision(api=api, configured=configured,
                           cap=history.latest_rpc_version(api),
                           source=SOURCE_AUTO, minimum_version=0,
                           latest=True, cacheable=False, binary=binary)
    if minimum_version > history.service_version:
        # Every receiver runs newer code than this service.
        if not newer_receivers_expected:
            # Its receivers are upgraded after it: it was left behind.
            raise _too_old(api, binary, minimum_version, history)
        # Its receivers are upgraded first (old computes sending to
        # upgraded conductors): they all read the newest version this
        # code can send; refusing would stall the upgrade.
        return PinDecision(api=api, configured=configured,
                           cap=history.latest_rpc_version(api),
                           source=SOURCE_AUTO,
                           minimum_version=minimum_version, latest=True,
                           binary=binary)
    cap = _auto_cap(api, binary, minimum_version, history)
    latest = _is_latest(api, cap, history)
    return PinDecision(api=api, configured=configured, cap=cap,
                       source=SOURCE_AUTO, minimum_version=minimum_version,
                       hosts=() if latest else tuple(hosts), latest=latest,
                       binary=binary)


def _hosts_text(hosts):
    hosts = list(hosts)
    # Host names come from the services table: escape control characters.
    shown = ', '.join(records.printable(host)
                      for host in hosts[:MAX_HOSTS_LOGGED])
    if len(hosts) > MAX_HOSTS_LOGGED:
        shown += ' and %d more' % (len(hosts) - MAX_HOSTS_LOGGED)
    return shown


def audit_message(decision):
    """The line logged when a decision is made."""
    if decision.source == SOURCE_AUTO:
        if decision.minimum_version == 0:
            return ('Automatically selected %s RPC version %s (the latest '
                    'version): no %s service is recorded yet'
                    % (decision.api, decision.cap, decision.binary))
        message = ('Automatically selected %s RPC version %s from minimum '
                   'service version %s'
                   % (decision.api, decision.cap, decision.minimum_version))
        if decision.latest:
            return message + ' (the latest version)'
        if decision.hosts:
            message += '; held by: %s' % _hosts_text(decision.hosts)
        return message
    if decision.source == SOURCE_UNDESCRIBED:
        return ('%s RPC version cap %s (the latest version this code '
                'sends: the version history does not describe the %s RPC '
                'API)' % (decision.api, decision.cap, decision.api))
    if decision.source == SOURCE_EXPLICIT:
        why = 'explicit pin'
    elif decision.source == SOURCE_ALIAS:
        why = 'pinned to release %s' % _normalise(decision.configured)
    else:
        why = 'not pinned: the latest version'
    return '%s RPC version cap %s (%s)' % (decision.api, decision.cap, why)


def change_message(old, new):
    """The line logged when a reload re-resolves a decision.

    :param old: the previous decision, or None if there was none.
    """
    if old is None:
        return '%s RPC version cap set to %s' % (new.api, new.cap)
    if old.cap == new.cap:
        return '%s RPC version cap unchanged at %s' % (new.api, new.cap)
    return changed_message(new.api, old.cap, new.cap)


def changed_message(api, old_cap, new_cap):
    """The line logged when a re-resolution moves ``api``'s cap."""
    return '%s RPC version cap changed from %s to %s' % (
        api, old_cap, new_cap)
