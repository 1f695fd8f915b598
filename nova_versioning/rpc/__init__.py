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
# The version comparison oslo.messaging itself applies to a cap (in
# prepare(), can_send_version() and before every send).
from oslo_messaging import _utils as messaging_utils

from nova_versioning import context as nv_context
from nova_versioning.objects import base as objects_base

# Exceptions raised by a remote endpoint in these modules are re-raised as
# themselves by the client (others arrive as RemoteError).
ALLOWED_EXMODS = ['nova_versioning.exception']


def prepare_conf(conf):
    """Make a ConfigOpts other than the global one usable for RPC.

    oslo.messaging registers its tracing options on the global
    configuration only, and its clients read them from theirs.
    """
    try:
        from oslo_messaging._tracing import client as tracing
    except ImportError:
        return
    conf.register_opts(tracing.oslo_messaging_tracing,
                       group='oslo_messaging_tracing')


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


# Memoised version checks, shared by every CappedRPCClient: answers depend
# on (cap, version) only, and a client asks about a handful of versions,
# once per message. Bounded: cleared when it grows past _MEMO_SIZE.
_MEMO_SIZE = 1024
_CAN_SEND = {}      # (cap, version) -> bool
_SEND_CHECKS = {}   # cap -> check(version)


def _memo_put(memo, key, value):
    if len(memo) >= _MEMO_SIZE:
        memo.clear()
    memo[key] = value


def _send_check(version_cap):
    """The check a context capped at version_cap makes before sending.

    oslo.messaging's own test (version_is_compatible with the cap, else
    RPCVersionCapError), remembering the versions it let through.
    """
    check = _SEND_CHECKS.get(version_cap)
    if check is not None:
        return check
    allowed = set()

    def check(version):
        try:
            if version in allowed:
                return
        except TypeError:
            pass
        if not messaging_utils.version_is_compatible(version_cap, version):
            raise messaging.RPCVersionCapError(version=version,
                                               version_cap=version_cap)
        try:
            allowed.add(version)
        except TypeError:
            pass

    _memo_put(_SEND_CHECKS, version_cap, check)
    return check


class CappedRPCClient(messaging.RPCClient):
    """RPCClient whose version checks cost a dictionary lookup.

    oslo.messaging answers ``can_send_version(version)`` with
    ``self.prepare(version=version).can_send_version()``, a new Target and
    call context per question, and every send compares the message's
    version with the cap again. An API method that asks before each
    message paid both on every send. This client remembers the answer per
    (cap, version), made the first time as oslo.messaging makes it (its
    sanity check of the version, raising what it raises, then its
    comparison with the cap). The check before a send is oslo.messaging's
    test, remembering the versions it let through: a send above the cap of
    its context (the client's, or the one given to prepare()) still raises
    RPCVersionCapError before anything is sent. A client keeps its cap for
    life; a new cap is a new client.
    """

    def can_send_version(self, version=messaging.RPCClient._marker):
        if version is self._marker:
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
        # the context: the sanity check of prepare() (MessagingException
        # for an invalid version), then the comparison with the cap.
        self._check_version(version)
        answer = messaging_utils.version_is_compatible(self.version_cap,
                                                       version)
        _memo_put(_CAN_SEND, key, answer)
        return answer

    def prepare(self, *args, **kwargs):
        cctxt = _prepare(self, *args, **kwargs)
        cap = cctxt.version_cap
        if cap is not None:
            # The context's own check before a send, memoised (without a
            # cap oslo.messaging's check returns at once).
            cctxt._check_version_cap = (_SEND_CHECKS.get(cap)
                                        or _send_check(cap))
        return cctxt


_prepare = messaging.RPCClient.prepare


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
