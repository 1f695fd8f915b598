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
"""Base of the RPC endpoints (managers) of the sample services."""

import oslo_messaging as messaging

from nova_versioning import exception
from nova_versioning import history as nv_history


class Manager(object):
    """An RPC endpoint that accepts the RPC version of its release.

    :param service_version: the service version the process runs as
        (default: this code's, or [versioning]/emulated_release); the
        endpoint accepts the RPC version of API_NAME at that version, so a
        process emulating an older release rejects newer messages exactly
        as that release would.
    :param transport: when given, the manager builds one client of each
        class in CLIENT_APIS on it (the service resolves their pins).
    """

    API_NAME = None
    #: PinnedRPCAPI classes this manager sends through.
    CLIENT_APIS = ()

    def __init__(self, host=None, service_version=None, conf=None,
                 transport=None):
        history = nv_history.get_history(conf)
        if service_version is None:
            service_version = nv_history.this_service_version(conf)
        self.host = host
        self.service_version = service_version
        self.target = messaging.Target(
            version=history.rpc_version(self.API_NAME, service_version))
        self.client_apis = {}
        if transport is not None:
            for api_cls in self.CLIENT_APIS:
                self.client_apis[api_cls.API_NAME] = api_cls(transport,
                                                             conf=conf)

    def rpc_serializer(self):
        """The serializer of this endpoint's RPC server (None: default)."""
        return None

    def version_caps(self):
        """{api: the version cap its client would send at now}.

        Reads each live client (an auto decision made while no receiver
        was recorded is made again on use, as a send would); None for a
        client never resolved.
        """
        caps = {}
        for name, api in sorted(self.client_apis.items()):
            try:
                caps[name] = api.client.version_cap
            except exception.RPCClientNotResolved:
                caps[name] = None
        return caps
