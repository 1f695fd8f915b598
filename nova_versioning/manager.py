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

from nova_versioning import history as nv_history


class Manager(object):
    """An RPC endpoint that accepts the RPC version of its release.

    :param service_version: the service version the process runs as
        (default: this code's, or [versioning]/emulated_release); the
        endpoint accepts the RPC version of API_NAME at that version, so a
        process emulating an older release rejects newer messages exactly
        as that release would.
    """

    API_NAME = None

    def __init__(self, host=None, service_version=None, conf=None):
        history = nv_history.get_history(conf)
        if service_version is None:
            service_version = nv_history.this_service_version(conf)
        self.host = host
        self.service_version = service_version
        self.target = messaging.Target(
            version=history.rpc_version(self.API_NAME, service_version))
