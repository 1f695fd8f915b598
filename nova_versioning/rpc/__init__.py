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
"""oslo.messaging transport, clients, servers and the serializer.

Nothing here is kept in module globals: the caller owns the transport and
passes it to each client and server it builds. ``[DEFAULT]/transport_url``
and the other transport options are oslo.messaging's own; they are
registered on the configuration by :func:`get_transport`.
"""

import oslo_messaging as messaging
from oslo_messaging.rpc import client as messaging_client

from nova_versioning import context as nv_context
from nova_versioning.objects import base as objects_base

# Exceptions raised by a remote endpoint in these modules are re-raised as
# themselves by the client (others arrive as RemoteError).
ALLOWED_EXMODS = ['nova_versioning.exception']


def prepare_conf(conf):
    """Make a ConfigOpts other than the global one usable for RPC.

    oslo.messaging registers some of its options (tracing, metrics) on the
    global configuration only, and its clients read them from theirs;
    its public ConfFixture registers them all on ``conf`` when made.
    """
    # Imported here: it imports the fixtures and testtools libraries,
    # which a console script has no use for.
    from oslo_messaging import conffixture

    conffixture.ConfFixture(conf)


# The sample services' default [DEFAULT]/control_exchange: oslo.messaging's
# own default, 'openstack', is every oslo service's, and two deployments on
# one virtual host with the same exchange answer each other's messages.
DEFAULT_EXCHANGE = 'nova_versioning'


def set_defaults(control_exchange=DEFAULT_EXCHANGE):
    """Set the default exchange of the transport options."""
    messaging.set_transport_defaults(control_exchange)


def get_transport(conf, url=None):
    """The RPC transport of ``[DEFAULT]/transport_url`` (or ``url``)."""
    return messaging.get_rpc_transport(conf, url=url,
                                       allowed_remote_exmods=ALLOWED_EXMODS)


# The hook oslo.messaging's call context runs before every send to compare
# the message's version with its cap. It is the one name of oslo.messaging
# used here that is not public API: CappedRPCClient puts a memoised check
# in its place, and tests/unit/rpc/test_rpc.py fails loudly (not silently
# slower) if oslo.messaging renames it or stops calling it.
SEND_CHECK_HOOK = '_check_version_cap'


def version_is_compatible(cap, version):
    """Whether a message of ``version`` may be sent under ``cap``.

    The rule of oslo.messaging's version caps: no cap allows everything;
    otherwise the same major version, a minor version no higher than the
    cap's, and at the cap's minor version a revision ("X.Y.Z") no higher.
    Parts are read as far as the answer needs them, so a malformed version
    raises IndexError or ValueError exactly where oslo.messaging's own
    comparison does.
    """
    if cap is None:
        return True
    if version is None:
        return False
    wanted = version.split('.')
    allowed = cap.split('.')
    if int(wanted[0]) != int(allowed[0]):
        return False
    if int(wanted[1]) != int(allowed[1]):
        return int(wanted[1]) < int(allowed[1])
    wanted_revision = wanted[2] if len(wanted) > 2 else 0
    allowed_revision = allowed[2] if len(allowed) > 2 else 0
    return int(wanted_revision) <= int(allowed_revision)


def check_version(version):
    """Raise MessagingException for a version prepare() would refuse."""
    try:
        version_is_compatible(version, version)
    except (IndexError, ValueError):
        raise messaging.MessagingException(
            'Version must contain a major and minor integer. Got %s'
            % version)


# Memoised version checks, shared by every CappedRPCClient: answers depend
# on (cap, version) only, and a client asks about a handful of versions,
# once per message. Bounded: cleared when it grows past _MEMO_SIZE.
_MEMO_SIZE = 1024
# Call contexts kept per client (one per host and version a client sends
# to, in the usual case); about a kilobyte each.
_PREPARED_SIZE = 1024
_CAN_SEND = {}      # (cap, version) -> bool
_SEND_CHECKS = {}   # cap -> check(version)

_DEFAULT = object()


def _memo_put(memo, key, value):
    if len(memo) >= _MEMO_SIZE:
        memo.clear()
    memo[key] = value


class _AllowedVersions(dict):
    """version -> True for each version a cap let through, filled on use.

    Its ``__getitem__`` is the check itself: a version already let through
    costs one dictionary lookup in C, no Python call; any other is judged
    by :meth:`__missing__`, which raises what oslo.messaging raises.
    """

    __slots__ = ('cap',)

    def __init__(self, cap):
        super().__init__()
        self.cap = cap

    def __missing__(self, version):
        if not version_is_compatible(self.cap, version):
            raise messaging.RPCVersionCapError(version=version,
                                               version_cap=self.cap)
        if len(self) < _MEMO_SIZE:
            self[version] = True
        return True


def _send_check(version_cap):
    """The check a context capped at version_cap makes before sending.

    oslo.messaging's test (the same major version, no higher minor, else
    RPCVersionCapError), remembering the versions it let through.
    """
    check = _SEND_CHECKS.get(version_cap)
    if check is None:
        check = _AllowedVersions(version_cap).__getitem__
        _memo_put(_SEND_CHECKS, version_cap, check)
    return check


def send_check_hook_available():
    """Whether oslo.messaging's call context has the hook replaced here."""
    return callable(getattr(messaging_client._BaseCallContext,
                            SEND_CHECK_HOOK, None))


_HOOK = send_check_hook_available()


class CappedRPCClient(messaging.RPCClient):
    """RPCClient whose version checks cost a dictionary lookup.

    oslo.messaging answers ``can_send_version(version)`` with
    ``self.prepare(version=version).can_send_version()``, a new Target and
    call context per question, and every send compares the message's
    version with the cap again. An API method that asks before each
    message paid both on every send. This client remembers the answer per
    (cap, version), made the first time by oslo.messaging itself (so it
    raises what oslo.messaging raises for a bad version). Before a send,
    the call context runs a memoised copy of oslo.messaging's test (see
    SEND_CHECK_HOOK): a send above the cap of its context (the client's,
    or the one given to prepare()) still raises RPCVersionCapError before
    anything is sent. A client keeps its cap for life; a new cap is a new
    client. prepare() makes the call context of a given set of arguments
    once and hands the same one out again (see :meth:`prepare`).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # (positional arguments, keyword items) -> call context.
        self._prepared = {}

    def can_send_version(self, version=_DEFAULT):
        if version is _DEFAULT:
            version = self.target.version
        key = (self.version_cap, version)
        try:
            return _CAN_SEND[key]
        except KeyError:
            pass
        except TypeError:
            # Not hashable, so not a version: oslo.messaging's answer.
            return super().can_send_version(version)
        # What prepare(version=version).can_send_version() decides, without
        # making a Target and a context: the sanity check of prepare(),
        # then the comparison with the cap.
        check_version(version)
        answer = version_is_compatible(self.version_cap, version)
        _memo_put(_CAN_SEND, key, answer)
        return answer

    def prepare(self, *args, **kwargs):
        """oslo.messaging's prepare(), made once per set of arguments.

        A call context is read, never changed, by its cast() and call(),
        and a client's own target, cap and options never change: the
        context prepared for ``server=host, version='6.2'`` is the same
        every time, so it is made once and handed out again (at most
        _PREPARED_SIZE of them per client; more clear them all). Arguments
        that cannot be a dictionary key are prepared every time.
        Callers must not modify a context they were given.
        """
        key = (args, tuple(kwargs.items()))
        prepared = self._prepared
        try:
            return prepared[key]
        except KeyError:
            pass
        except TypeError:
            return self._prepare_new(*args, **kwargs)
        cctxt = self._prepare_new(*args, **kwargs)
        if len(prepared) >= _PREPARED_SIZE:
            prepared.clear()
        prepared[key] = cctxt
        return cctxt

    def _prepare_new(self, *args, **kwargs):
        cctxt = super().prepare(*args, **kwargs)
        cap = cctxt.version_cap
        if cap is not None and _HOOK:
            # The context's own check before a send, memoised (without a
            # cap oslo.messaging's check returns at once).
            setattr(cctxt, SEND_CHECK_HOOK,
                    _SEND_CHECKS.get(cap) or _send_check(cap))
        return cctxt


def get_client(transport, target, version_cap=None, serializer=None):
    """An RPC client; the serializer defaults to RequestContextSerializer.

    :param version_cap: "X.Y": sending a higher version raises
        oslo_messaging.RPCVersionCapError before anything is sent.
    :returns: a :class:`CappedRPCClient`.
    """
    if serializer is None:
        serializer = RequestContextSerializer()
    return messaging.get_rpc_client(transport, target,
                                    client_cls=CappedRPCClient,
                                    version_cap=version_cap,
                                    serializer=serializer)


def get_server(transport, target, endpoints, serializer=None):
    """An RPC server (threading executor); not started.

    The serializer defaults to RequestContextSerializer. Only the public
    methods of the endpoints are dispatched.
    """
    if serializer is None:
        serializer = RequestContextSerializer()
    return messaging.get_rpc_server(
        transport, target, endpoints, serializer=serializer,
        access_policy=messaging.DefaultRPCAccessPolicy)


class RequestContextSerializer(messaging.Serializer):
    """Versioned objects and RequestContext over RPC.

    :param base: serializer of the entities (arguments and results);
        NovaVersioningObjectSerializer when not given.
    """

    def __init__(self, base=None):
        if base is None:
            base = objects_base.NovaVersioningObjectSerializer()
        self._base = base

    def serialize_entity(self, context, entity):
        return self._base.serialize_entity(context, entity)

    def deserialize_entity(self, context, entity):
        return self._base.deserialize_entity(context, entity)

    def serialize_context(self, context):
        return context.to_dict()

    def deserialize_context(self, context):
        return nv_context.RequestContext.from_dict(context)


class UnreadableArgument(object):
    """An argument an endpoint's serializer could not read.

    :ivar primitive: what was received.
    :ivar error: why it could not be read (the exception).
    """

    def __init__(self, primitive, error):
        self.primitive = primitive
        self.error = error

    def __repr__(self):
        return 'UnreadableArgument(%s)' % (self.error,)


class EndpointSerializer(RequestContextSerializer):
    """The server side of an endpoint that judges its own arguments.

    An argument that cannot be read (a versioned object of a malformed or
    unknown version, ...) reaches the endpoint as an
    :class:`UnreadableArgument` for it to refuse with a clear error,
    instead of failing in oslo.messaging's dispatcher with a raw
    ``ValueError`` or ``TypeError`` and a logged traceback.
    """

    def deserialize_entity(self, context, entity):
        try:
            return super().deserialize_entity(context, entity)
        except Exception as exc:
            return UnreadableArgument(entity, exc)


class DeclaringSerializer(RequestContextSerializer):
    """A client's serializer declaring the caller's code version and host.

    :param declare: callable returning (service version, host), asked at
        every send.
    """

    def __init__(self, declare, base=None):
        super().__init__(base=base)
        self._declare = declare

    def serialize_context(self, context):
        values = super().serialize_context(context)
        version, host = self._declare()
        values[nv_context.RequestContext.CALLER_KEY] = {
            'service_version': version, 'host': host}
        return values
