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
"""Exceptions raised by nova_versioning.

Each carries a message an operator can act on: what was found, and what to
do about it.
"""


def shown(value, limit=80):
    """A value for a one-line message: its repr, cut when long.

    ``repr`` escapes control characters; a value of thousands of
    characters shows its start and its length.
    """
    text = repr(value)
    if len(text) <= limit:
        return text
    try:
        length = len(value)
    except TypeError:
        length = len(text)
    return '%s... (%d characters)' % (text[:limit - 20], length)


class _Shown(object):
    """Formats as shown(value) with %r and %s."""

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return shown(self.value)

    __str__ = __repr__


class NovaVersioningException(Exception):
    """Base class: ``msg_fmt`` is formatted with the keyword arguments."""

    msg_fmt = 'An unknown error occurred.'

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        if message is None:
            message = self.msg_fmt % kwargs
        self.message = message
        super().__init__(message)


class ServiceTooOld(NovaVersioningException):
    """A service is older than the minimum version of its kind.

    :param thisver: the service version of the refused service.
    :param minver: the minimum version it was compared with.
    :param host: optional host of the refused record.
    :param binary: optional binary of the refused record.
    :param history: optional VersionHistory, to name releases.
    """

    msg_fmt = ('This service is older (v%(thisver)i) than the minimum '
               '(v%(minver)i) version of the rest of the deployment. '
               'Unable to continue.')

    record_fmt = ('Service %(binary)s on host %(host)s is version '
                  '%(thisver)s, older than the minimum version %(minver)s '
                  'of the other %(binary)s services: refusing to register '
                  'it, nothing was written. Upgrade %(host)s to version '
                  '%(minver)s or newer; or, if the newer %(binary)s '
                  'services are gone for good, delete or force down their '
                  'records so they stop counting toward the minimum.')

    def __init__(self, message=None, thisver=None, minver=None, host=None,
                 binary=None, history=None):
        self.thisver = thisver
        self.minver = minver
        self.host = host
        self.binary = binary
        if message is None and host is not None and binary is not None:
            describe = history.describe if history is not None else str
            message = self.record_fmt % {
                'binary': binary, 'host': host,
                'thisver': describe(thisver), 'minver': describe(minver)}
        super().__init__(message, thisver=thisver, minver=minver)


class TooOldComputeService(NovaVersioningException):
    """nova-compute records older than the oldest supported release.

    The first sentence is Nova's own (``nova.exception.TooOldComputeService``)
    so that runbooks matching it still apply; what to do follows.
    """

    msg_fmt = ('Current %(product)s version does not support computes older '
               'than %(oldest_release)s but the minimum compute service '
               'level in your %(scope)s is %(minimum)d and the oldest '
               'supported service level is %(oldest)d. %(service)s refuses '
               'to start: these nova-compute services are older: '
               '%(hosts)s. Upgrade them, or delete or force down their '
               'records if they are gone; during a fast-forward upgrade set '
               '[workarounds]/disable_compute_service_check_for_ffu on '
               '%(service)s to start anyway.')


class InvalidBinary(NovaVersioningException):
    msg_fmt = ('Invalid service binary %(binary)r: binaries are named '
               '"nova-<name>", for example "nova-compute".')


class ServiceNotFound(NovaVersioningException):
    msg_fmt = 'Service %(service)s could not be found.'


class InvalidWhatIf(NovaVersioningException):
    msg_fmt = 'Invalid what-if: %(reason)s.'


class ServiceExists(NovaVersioningException):
    msg_fmt = 'Service with host %(host)s binary %(binary)s exists.'


class ServiceTopicExists(NovaVersioningException):
    msg_fmt = ('A live service record of host %(host)s with topic %(topic)s '
               'already exists (unique key on host, topic and deleted): '
               'one service per host and topic.')


class ObjectActionError(NovaVersioningException):
    msg_fmt = 'Object action %(action)s failed because: %(reason)s'


class InvalidHistory(NovaVersioningException):
    msg_fmt = 'Invalid service version history %(name)s: %(reason)s'


class InvalidRelease(NovaVersioningException):
    msg_fmt = ('Invalid value %(value)r for option %(option)s: expected '
               '%(allowed)s.')

    def __init__(self, message=None, option=None, value=None, allowed=None):
        self.value = value
        super().__init__(message, option=option, value=_Shown(value),
                         allowed=allowed)


class InvalidOption(NovaVersioningException):
    """A configuration value that does not parse or is out of range.

    :param group: the option group ('DEFAULT' for the default group).
    :param name: the option name.
    :param value: the value as written.
    :param where: ' in <file>' when the file is known, else ''.
    :param allowed: the allowed forms.
    """

    msg_fmt = ('Invalid value %(value)r for option [%(group)s]/%(name)s'
               '%(where)s: expected %(allowed)s')

    def __init__(self, message=None, group=None, name=None, value=None,
                 where='', allowed=None):
        self.group = group
        self.name = name
        self.value = value
        super().__init__(message, group=group, name=name,
                         value=_Shown(value), where=where, allowed=allowed)


class DatabaseConfigError(NovaVersioningException):
    msg_fmt = ('Cannot use the database at [database]/connection '
               '%(connection)r: %(reason)s')


class InvalidRevision(NovaVersioningException):
    msg_fmt = ('Invalid value %(value)s for --version: expected a schema '
               'revision this code knows (%(known)s) or head')

    def __init__(self, message=None, value=None, known=None):
        self.value = value
        super().__init__(message, value=_Shown(value), known=known)


class SchemaNotSynced(NovaVersioningException):
    msg_fmt = ('The database at [database]/connection %(connection)r has '
               'no %(tables)s table: its schema is not synced. Run: '
               '%(manage)s db sync')

    def __init__(self, message=None, **kwargs):
        # manage: the command with this deployment's --config-file.
        kwargs.setdefault('manage', 'nova-versioning-manage')
        super().__init__(message, **kwargs)


class ForeignSchema(NovaVersioningException):
    msg_fmt = ('Refusing to write to the database at [database]/connection: '
               '%(reason)s.')


class NovaDatabase(NovaVersioningException):
    """A write this project must leave to Nova on a Nova database."""

    msg_fmt = '%(reason)s'


class CellsUnavailable(NovaVersioningException):
    msg_fmt = 'Cannot read the cells from %(what)s: %(reason)s'


class CellsUnanswered(NovaVersioningException):
    msg_fmt = ('Cells did not answer, and [cells]/unanswered_cell = hold '
               'does not decide on partial data: %(cells)s')


class CellNotFound(NovaVersioningException):
    msg_fmt = 'No cell named %(cell)r in cell_mappings (cells: %(cells)s).'


class InvalidPin(NovaVersioningException):
    """An [upgrade_levels] value this code cannot use.

    :param api: the RPC API (the option name in [upgrade_levels]).
    :param value: the configured value, as given.
    :param allowed: the allowed forms, for this API and history.
    :param reason: optional detail appended after the allowed forms.
    """

    msg_fmt = ('Invalid value %(value)r for option [upgrade_levels]/%(api)s: '
               'expected %(allowed)s')

    def __init__(self, message=None, api=None, value=None, allowed=None,
                 reason=None):
        self.api = api
        self.value = value
        self.allowed = allowed
        self.reason = reason
        if message is None:
            message = self.msg_fmt % {'value': _Shown(value), 'api': api,
                                      'allowed': allowed}
            if reason:
                message = '%s; %s' % (message, reason)
        super().__init__(message, api=api, value=value, allowed=allowed,
                         reason=reason)


class UnsupportedRPCFeature(NovaVersioningException):
    """A call needs an RPC version above the client's version cap."""

    msg_fmt = ('Cannot call %(method)s: it needs %(api)s RPC version '
               '%(required)s but the version cap is %(cap)s (older services '
               'are still running)')

    def __init__(self, message=None, method=None, required=None, cap=None,
                 api='compute'):
        self.method = method
        self.required = required
        self.cap = cap
        self.api = api
        super().__init__(message, method=method, required=required, cap=cap,
                         api=api)


class RPCClientNotResolved(NovaVersioningException):
    msg_fmt = ('The %(api)s RPC client has no version cap yet: call '
               'resolve(context) before sending (the service does it when '
               'it starts).')


class PinResolutionFailed(NovaVersioningException):
    """Re-resolving the RPC version caps failed for some APIs.

    :param failures: list of (api_name, exception); each of those APIs
        keeps its previous cap and client.
    :param changes: list of (api_name, old_decision, new_decision) of the
        APIs resolved successfully; they use their new cap.
    :param unresolved: the names, among the failures, of the APIs that had
        no previous cap to keep (a first resolution).
    """

    msg_fmt = ('Could not resolve the RPC version cap of %(details)s: each '
               'of them keeps its previous cap.')
    unresolved_fmt = ('Could not resolve the RPC version cap of '
                      '%(details)s: no previous cap to keep for %(names)s.')

    def __init__(self, message=None, failures=(), changes=(),
                 unresolved=()):
        self.failures = list(failures)
        self.changes = list(changes)
        self.unresolved = list(unresolved)
        # A remote error carries the remote traceback after its first line.
        details = '; '.join('%s (%s: %s)' % (name, type(exc).__name__,
                                             (str(exc).splitlines() or
                                              [''])[0])
                            for name, exc in self.failures)
        if message is None and self.unresolved:
            message = self.unresolved_fmt % {
                'details': details, 'names': ', '.join(self.unresolved)}
        super().__init__(message, details=details)


class ObjectActionNotAllowed(NovaVersioningException):
    """The indirection endpoint refuses to run a method for a caller."""

    msg_fmt = ('Refusing to run %(objname)s.%(method)s through the '
               'conductor: %(reason)s. Only remotable methods of registered '
               'objects can be called remotely.')


class BrokerUnreachable(NovaVersioningException):
    """At startup, the message broker did not let the service in."""

    msg_fmt = ('Cannot use the message broker at [DEFAULT]/transport_url '
               '%(url)s: %(reason)s. Nothing was written; check that the '
               'broker runs and that the user, password and virtual host '
               'of transport_url are right.')


class IndirectionRefused(ObjectActionNotAllowed):
    """The indirection endpoint refuses a call no honest caller sends.

    :param call: what was called (``Service._save``, ...).
    :param rule: the name of the rule that refused it.
    :param reason: what about the call breaks the rule.
    """

    msg_fmt = ('Refusing %(call)s through the conductor (rule: %(rule)s): '
               '%(reason)s.')


class ObjectUnknownToReceiver(NovaVersioningException):
    """A sender holds an object its receivers' release does not know."""

    msg_fmt = ('Cannot send %(objname)s %(objver)s to %(receiver)s: that '
               'release knows no %(objname)s object. Nothing was sent.')


class ObjectVersionTooNew(NovaVersioningException):
    """A receiver got an object version newer than its release knows.

    Raised when no backport was asked for (none configured, or turned
    off) or when the backport could not be had.
    """

    msg_fmt = ('Cannot read %(objname)s %(objver)s: %(receiver)s knows '
               '%(objname)s up to %(known)s%(why)s.')


class ObjectBackportFailed(NovaVersioningException):
    """A conductor cannot backport an object to what a receiver knows."""

    msg_fmt = ('The conductor on %(host)s cannot backport %(objname)s '
               '%(objver)s to %(target)s: %(reason)s.')


class ObjectCheckFailed(NovaVersioningException):
    """A received object is not what its receiver's release defines."""

    msg_fmt = '%(objname)s received by %(who)s: %(problems)s'
