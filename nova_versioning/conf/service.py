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
"""[DEFAULT] options of the services: identity and heartbeat."""

import socket

from oslo_config import cfg

service_opts = [
    cfg.HostAddressOpt('host',
                       default=socket.gethostname(),
                       sample_default='<current_hostname>',
                       help='Name of this host: the host of the service '
                            'record and the RPC server name other services '
                            'send to.'),
    cfg.IntOpt('report_interval',
               default=10,
               min=1,
               max=86400,
               help='Seconds between two heartbeats of a service to its '
                    'record (report_count and last_seen_up).'),
]


def register_opts(conf):
    conf.register_opts(service_opts)


def list_opts():
    return {'DEFAULT': service_opts}
