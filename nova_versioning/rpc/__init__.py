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


def set_defaults(control_exchange):
    """Set the default exchange of the transport options."""
    messaging.set_transport_defaults(control_exchange)


def get_transport(conf, url=None):
    """The RPC transport of ``[DEFAULT]/transport_url`` (or ``url``)."""
    return messaging.get_rpc_transport(conf, url=url,
                                       allowed_remote_exmods=ALLOWED_EXMODS)


def get_client(transport, target, version_cap=None, serializer=None):
    """An RPC client; the serializer defaults to RequestContextSerializer.

    :param version_cap: "X.Y": sending a higher version raises
        oslo_messaging.RPCVersionCapError before anything is sent.
    """
    if serializer is None:
        serializer = RequestContextSerializer()
    return messaging.get_rpc_client(transport, target,
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
