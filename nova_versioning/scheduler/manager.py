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
"""Scheduler server side: the sample scheduler RPC API endpoint."""

from nova_versioning import manager


class SchedulerManager(manager.Manager):
    """Endpoint of the scheduler RPC API (see scheduler.rpcapi)."""

    API_NAME = 'scheduler'

    def __init__(self, host=None, service_version=None, conf=None,
                 transport=None):
        super().__init__(host=host, service_version=service_version,
                         conf=conf, transport=transport)
        self.host_states = {}

    def select_destinations(self, context, spec, limit=None):
        hosts = sorted(self.host_states) or [self.host]
        if limit is not None:
            hosts = hosts[:limit]
        return hosts

    def update_host_state(self, context, host, state):
        self.host_states[host] = state
