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
"""Client side of the sample scheduler RPC API."""

from nova_versioning.rpc import client


class SchedulerAPI(client.PinnedRPCAPI):
    """Client side of the scheduler RPC API.

    API version history:

    * 2.0 - Initial version: select_destinations()
    * 2.1 - select_destinations() takes limit
    * 2.2 - Adds update_host_state()
    """

    API_NAME = 'scheduler'
    BINARY = 'nova-scheduler'
    TOPIC = 'scheduler'
    RPC_API_VERSION = '2.2'
    # Schedulers are controllers, upgraded with or after the conductors
    # sending to them: a sender older than every scheduler was left
    # behind, refused (ServiceTooOld).
    NEWER_RECEIVERS_EXPECTED = False

    def select_destinations(self, ctxt, spec, limit=None):
        """Call: hosts for ``spec``; limit is dropped below 2.1."""
        rpc_client = self.client
        kwargs = {'spec': spec}
        if rpc_client.can_send_version('2.1'):
            version = '2.1'
            kwargs['limit'] = limit
        else:
            version = '2.0'
        cctxt = rpc_client.prepare(version=version)
        return cctxt.call(ctxt, 'select_destinations', **kwargs)

    def update_host_state(self, ctxt, host, state):
        """Cast: record the state of ``host`` (2.2)."""
        rpc_client = self.client
        if not rpc_client.can_send_version('2.2'):
            raise self._unsupported(rpc_client, 'update_host_state', '2.2')
        cctxt = rpc_client.prepare(version='2.2')
        cctxt.cast(ctxt, 'update_host_state', host=host, state=state)
