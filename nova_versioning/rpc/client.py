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
"""The RPC client mixin: an oslo.messaging client capped by a pin.

A client class declares the API it talks to::

    class ComputeAPI(client.PinnedRPCAPI):
        API_NAME = 'compute'
        BINARY = 'nova-compute'
        TOPIC = 'compute'
        RPC_API_VERSION = '6.5'
        NEWER_RECEIVERS_EXPECTED = False

:meth:`PinnedRPCAPI.resolve` reads ``[upgrade_levels]/<API_NAME>`` (and,
for ``auto``, the minimum service version of BINARY), decides the cap with
:func:`nova_versioning.rpc.pinning.resolve` and swaps in a client built
with that ``version_cap``. The decision and the client live on the
instance, so a reload rebuilds them by resolving again (see
:class:`PinnedAPIs`); nothing is kept in module globals.
"""

import threading

from oslo_log import log as logging
import oslo_messaging as messaging

from nova_versioning import conf as nv_conf
from nova_versioning import context as nv_context
from nova_versioning import exception
from nova_versioning import history as nv_history
from nova_versioning.objects import base as obj_base
from nova_versioning.objects import service as service_obj
from nova_versioning import rpc
from nova_versioning.rpc import pinning

LOG = logging.getLogger(__name__)


def _api_name(api):
    return api if isinstance(api, str) else api.API_NAME


def sample_apis():
    """{API name: PinnedRPCAPI class} of the RPC APIs this library ships."""
    # Imported here: these modules import this one.
    from nova_versioning.compute import rpcapi as compute_rpcapi
    from nova_versioning.conductor import rpcapi as conductor_rpcapi
    from nova_versioning.scheduler import rpcapi as scheduler_rpcapi
    return {cls.API_NAME: cls for cls in (
        compute_rpcapi.ComputeAPI, conductor_rpcapi.ConductorAPI,
        scheduler_rpcapi.SchedulerAPI)}


def code_latest(api):
    """The latest "X.Y" this library's client of ``api`` sends, or None."""
    cls = sample_apis().get(api)
    return cls.RPC_API_VERSION if cls is not None else None


def validate_pins(conf, history, apis=None):
    """Check every [upgrade_levels] value; raise the first InvalidPin.

    Services call this when they start, before anything else.

    :param apis: the API names (or PinnedRPCAPI classes or instances) to
        check; when not given, every API with an [upgrade_levels] option
        that the history describes or this library has a client of.
    :raises InvalidPin: naming the option, the value and the allowed forms.
    """
    group = conf.upgrade_levels
    if apis is None:
        names = [name for name in sorted(set(history.apis)
                                         | set(sample_apis()))
                 if name in group]
        latest = {name: code_latest(name) for name in names}
    else:
        names = [_api_name(api) for api in apis]
        latest = {_api_name(api): (code_latest(_api_name(api))
                                   if isinstance(api, str)
                                   else api.RPC_API_VERSION)
                  for api in apis}
    for name in names:
        pinning.parse_pin(name, group[name], history,
                          code_latest=latest[name])


def reader_name(history):
    """How messages name this process's release, as a reader of objects."""
    return 'this service (service version %s)' % history.describe(
        history.service_version)


class PinnedRPCAPI(object):
    """Mixin of an RPC client API whose version cap comes from a pin.

    :param transport: the oslo.messaging transport.
    :param conf: the configuration (nova_versioning.conf.CONF by default).
    :param history: the VersionHistory; when not given, the one selected
        by the configuration, looked up at each resolve.
    """

    #: The RPC API name, also the option name in [upgrade_levels].
    API_NAME = None
    #: The binary of the services that receive this API.
    BINARY = None
    #: The topic the receivers listen on.
    TOPIC = None
    #: The "X.Y" version this client code implements.
    RPC_API_VERSION = None
    #: The API's stance on ``auto`` when every receiver runs newer code
    #: than this service (their minimum service version is newer than this
    #: code's history). False (refuse): the receivers are upgraded after
    #: the senders, as computes are after the controllers sending to them,
    #: so this service was left behind: resolution raises ServiceTooOld.
    #: True: the receivers are upgraded first, as conductors are, so this
    #: is every normal upgrade: the cap is this code's latest version,
    #: which newer receivers accept.
    NEWER_RECEIVERS_EXPECTED = False
    #: When set, a version whose calls may be sent before the first
    #: resolve (with this cap); otherwise using the client before
    #: resolve() raises RPCClientNotResolved.
    BOOTSTRAP_VERSION = None
    #: Optional callable(context, primitive, manifest): how an object this
    #: process's release cannot read, in an answer, is backported before
    #: it is read (a conductor's object_backport_versions). Set by the
    #: manager of a service without database access; None: never asked.
    object_backport = None
    #: Optional callable(api, decision), called after each new decision
    #: (a resolve, or an auto decision made again on use); a service uses
    #: it to keep its last good pins on disk.
    on_decision = None

    def __init__(self, transport, conf=None, history=None):
        for attr in ('API_NAME', 'BINARY', 'TOPIC', 'RPC_API_VERSION'):
            if not getattr(self, attr):
                raise TypeError('%s must set %s'
                                % (type(self).__name__, attr))
        self._transport = transport
        self._conf = conf if conf is not None else nv_conf.CONF
        self._history = history
        self._resolve_lock = threading.Lock()
        # (decision, client), replaced as a whole.
        self._state = None
        self._bootstrap = None

    # -- state -------------------------------------------------------------

    @property
    def history(self):
        if self._history is not None:
            return self._history
        return nv_history.get_history(self._conf)

    @property
    def configured(self):
        """The raw [upgrade_levels]/<API_NAME> value (None when unset)."""
        return self._conf.upgrade_levels[self.API_NAME]

    @property
    def decision(self):
        """The current PinDecision, None before the first resolve."""
        state = self._state
        return state[0] if state is not None else None

    @property
    def client(self):
        """The oslo.messaging client capped by the current decision.

        A decision that is not cacheable (auto while no receiver is
        recorded) is made again here, at most once at a time.

        :raises RPCClientNotResolved: resolve() was never called (and the
            class has no BOOTSTRAP_VERSION).
        """
        state = self._state
        if state is None:
            return self._bootstrap_client()
        if not state[0].cacheable:
            state = self._refresh() or state
        return state[1]

    def _bootstrap_client(self):
        if self.BOOTSTRAP_VERSION is None:
            raise exception.RPCClientNotResolved(api=self.API_NAME)
        if self._bootstrap is None:
            self._bootstrap = self._build_client(self.BOOTSTRAP_VERSION)
        return self._bootstrap

    def _build_client(self, cap, decision=None):
        target = messaging.Target(topic=self.TOPIC,
                                  version=self.RPC_API_VERSION)
        serializer = self.rpc_serializer(
            base=self.object_serializer(decision))
        return rpc.get_client(self._transport, target, version_cap=cap,
                              serializer=serializer)

    def rpc_serializer(self, base=None):
        """The serializer of this API's clients.

        :param base: the serializer of the arguments and answers (the
            objects serializer of the current decision).
        """
        return rpc.RequestContextSerializer(base=base)

    # -- versioned objects -------------------------------------------------

    def compat_disabled(self):
        """[versioning]/disable_object_compat of this process."""
        return bool(self._conf.versioning.disable_object_compat)

    def receivers_service_version(self, decision, history=None):
        """The service version whose objects the receivers surely know.

        auto: the minimum service version of the receivers (this code's
        own when none is recorded or they are newer); a release name: that
        release's; an explicit "X.Y": the oldest service version that
        speaks it; not pinned: this code's.
        """
        if history is None:
            history = self.history
        newest = history.service_version
        if decision is None or decision.latest:
            return newest
        if decision.source == pinning.SOURCE_AUTO:
            minimum = decision.minimum_version
            if not minimum or minimum > newest:
                return newest
            return minimum
        if decision.source == pinning.SOURCE_ALIAS:
            release = str(decision.configured).strip().lower()
            if release in history.releases:
                return history.releases[release]
        cap = nv_history.parse_rpc_version(decision.cap)
        if cap is not None:
            for version in range(newest + 1):
                try:
                    spoken = history.rpc_version(self.API_NAME, version)
                except exception.InvalidHistory:
                    continue
                if nv_history.parse_rpc_version(spoken) >= cap:
                    return version
        return newest

    def object_manifests(self, decision, history=None):
        """(receivers' service version, manifest sent, own manifest).

        The manifests are None when the history records none (objects then
        go at this code's versions; a receiver that cannot read one asks a
        conductor to backport it). With [versioning]/disable_object_compat
        objects go at this release's own versions.
        """
        if history is None:
            history = self.history
        own = history.object_manifest(history.service_version)
        if own is None:
            return None, None, None
        if self.compat_disabled():
            return history.service_version, own, own
        version = self.receivers_service_version(decision, history)
        return version, history.object_manifest(version), own

    def object_serializer(self, decision=None):
        """The objects serializer of a client made for ``decision``."""
        history = self.history
        version, send, own = self.object_manifests(decision, history)
        backport = None if self.compat_disabled() else self.object_backport
        return obj_base.ReleaseObjectSerializer(
            send=send, read=own, backport=backport,
            receiver='%s at service version %s' % (
                self.BINARY, history.describe(version)
                if version is not None else 'unknown'),
            reader=reader_name(history),
            scope=nv_history.governed_objects(self._conf))

    def objects_note(self, decision):
        """What the decision log line says about the objects sent.

        Empty when every object goes at this code's version.
        """
        history = self.history
        version, send, _own = self.object_manifests(decision, history)
        if send is None:
            return ''
        code = obj_base.registered_versions()
        capped = sorted(name for name, object_version in send.items()
                        if code.get(name) != object_version)
        if not capped:
            return ''
        if self.compat_disabled():
            return ('; objects at this release\'s versions, not capped to '
                    'the receivers ([versioning]/disable_object_compat)')
        return '; objects as of service version %s: %s' % (
            version, obj_base.describe_manifest(send, only=capped))

    # -- resolution --------------------------------------------------------

    def _decide(self, context, fresh=False):
        history = self.history
        configured = self.configured
        latest = self.RPC_API_VERSION
        source, _cap = pinning.parse_pin(self.API_NAME, configured, history,
                                         code_latest=latest)
        if source != pinning.SOURCE_AUTO:
            return pinning.resolve(self.API_NAME, configured, history,
                                   binary=self.BINARY, code_latest=latest)
        service = service_obj.Service
        minimum = service.get_minimum_version(context, self.BINARY,
                                              fresh=fresh)
        decision = pinning.resolve(
            self.API_NAME, configured, history, minimum_version=minimum,
            binary=self.BINARY,
            newer_receivers_expected=self.NEWER_RECEIVERS_EXPECTED,
            code_latest=latest)
        if decision.latest or not minimum:
            return decision
        services = service.get_all_at_minimum_version(context, self.BINARY)
        hosts = sorted({service.host for service in services})
        return pinning.resolve(
            self.API_NAME, configured, history, minimum_version=minimum,
            hosts=hosts, binary=self.BINARY,
            newer_receivers_expected=self.NEWER_RECEIVERS_EXPECTED,
            code_latest=latest)

    def _resolve_locked(self, context, log_unchanged, fresh=False):
        previous = self.decision
        decision = self._decide(context, fresh=fresh)
        client = self._build_client(decision.cap, decision)
        self._state = (decision, client)
        if log_unchanged or decision != previous:
            LOG.info(pinning.audit_message(decision) +
                     self.objects_note(decision))
            if decision.warning:
                LOG.warning(decision.warning)
        if decision != previous and self.on_decision is not None:
            try:
                self.on_decision(self, decision)
            except Exception:
                LOG.exception('on_decision hook of the %s API failed',
                              self.API_NAME)
        return self._state

    def resolve(self, context, fresh=False, log_unchanged=True):
        """Decide the version cap again and swap in a new client.

        The new decision and client replace the current ones only when
        everything succeeded: on error the previous ones stay and the
        error propagates.

        :param fresh: for ``auto``, read the minimum service version from
            the database, not from a cached answer: an explicit
            re-resolution (a reload) must see an upgrade at once. On a
            host without database access the conductor skips its cache
            too. Decisions made again on use never ask for it.
        :param log_unchanged: log the decision even when it is the current
            one (False: only a new decision is logged).
        :returns: the new PinDecision.
        :raises InvalidPin, ServiceTooOld, InvalidHistory: see
            :func:`nova_versioning.rpc.pinning.resolve` (ServiceTooOld: this
            service is older than every receiver, and the API does not
            expect that, see NEWER_RECEIVERS_EXPECTED); or any error of the
            minimum version lookup.
        """
        with self._resolve_lock:
            return self._resolve_locked(context,
                                        log_unchanged=log_unchanged,
                                        fresh=fresh)[0]

    def adopt(self, decision):
        """Use an earlier decision until the next resolve.

        For the last good decision kept on disk; nothing is decided now.
        """
        if decision.api != self.API_NAME:
            raise ValueError('decision for %s given to the %s API'
                             % (decision.api, self.API_NAME))
        with self._resolve_lock:
            self._state = (decision, self._build_client(decision.cap,
                                                        decision))

    def _refresh(self):
        # Never wait: another thread (or this one, re-entering through the
        # indirection API while resolving) is already deciding.
        if not self._resolve_lock.acquire(blocking=False):
            return None
        try:
            return self._resolve_locked(nv_context.get_admin_context(),
                                        log_unchanged=False)
        except Exception as exc:
            LOG.warning('Keeping %(api)s RPC version cap %(cap)s: could not '
                        'decide it again: %(exc)s',
                        {'api': self.API_NAME, 'cap': self.decision.cap,
                         'exc': exc})
            return None
        finally:
            self._resolve_lock.release()

    @classmethod
    def validate(cls, conf=None, history=None):
        """Check this API's [upgrade_levels] value (raises InvalidPin)."""
        if conf is None:
            conf = nv_conf.CONF
        if history is None:
            history = nv_history.get_history(conf)
        validate_pins(conf, history, [cls])

    # -- sending -----------------------------------------------------------

    def can_send_version(self, version):
        """Whether the current cap allows sending ``version``."""
        return self.client.can_send_version(version)

    def prepare(self, **kwargs):
        """client.prepare(**kwargs) on the current client."""
        return self.client.prepare(**kwargs)

    def _unsupported(self, client, method, required):
        return exception.UnsupportedRPCFeature(
            method=method, required=required, cap=client.version_cap,
            api=self.API_NAME)


class PinnedAPIs(object):
    """Every PinnedRPCAPI a service holds, its managers' included."""

    def __init__(self, apis=()):
        self._apis = []
        for api in apis:
            self.add(api)

    def add(self, api):
        """Hold ``api`` (once); return it."""
        if not any(held is api for held in self._apis):
            self._apis.append(api)
        return api

    def __iter__(self):
        return iter(list(self._apis))

    def __len__(self):
        return len(self._apis)

    def decisions(self):
        """[(api_name, current decision or None)]."""
        return [(api.API_NAME, api.decision) for api in self]

    def resolve_all(self, context, fresh=False, quiet=False):
        """Resolve every API again.

        One line per API: its decision when it had none; on a re-resolution
        the decision and whether its cap changed (``changed from``,
        ``unchanged at``).

        :param fresh: passed to each PinnedRPCAPI.resolve().
        :param quiet: log only the decisions that differ from the current
            ones (a worker starting with the pins its launching process
            decided and logged).
        :returns: [(api_name, old_decision, new_decision)], old_decision
            None for a first resolve.
        :raises PinResolutionFailed: after trying every API, when some
            failed; those keep their previous cap, the others use their
            new one (listed in the exception's ``changes``).
        """
        changes = []
        failures = []
        unresolved = []
        for api in self:
            old = api.decision
            try:
                new = api.resolve(context, fresh=fresh,
                                  log_unchanged=not quiet)
            except Exception as exc:
                # Reported once, by the caller, through PinResolutionFailed
                # (ServiceTooOld included: this service is older than
                # receivers it did not expect to be newer).
                failures.append((api.API_NAME, exc))
                if old is None:
                    unresolved.append(api.API_NAME)
                continue
            # A first decision was logged by resolve() itself.
            if old is not None and not (quiet and old.cap == new.cap):
                LOG.info(pinning.change_message(old, new))
            changes.append((api.API_NAME, old, new))
        if failures:
            raise exception.PinResolutionFailed(failures=failures,
                                                changes=changes,
                                                unresolved=unresolved)
        return changes
