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
"""Shared main() of the sample services."""

import sys

from oslo_service import service as os_service

from nova_versioning.cmd import common
from nova_versioning import conf as nv_conf
from nova_versioning import objects
from nova_versioning import service

CONF = nv_conf.CONF


def serve(prog, argv=None, **service_kwargs):
    """Parse config, prepare (guards, registration), then launch.

    SIGHUP is handled by oslo.service with restart_method='mutate': the
    mutable options, [upgrade_levels] among them, are re-read and every
    pin is resolved again.
    """
    argv = sys.argv if argv is None else argv
    common.parse_args(argv, prog)
    objects.register_all()
    server = service.RPCService(conf=CONF, **service_kwargs)

    def prepare():
        if server.db_access:
            # A database never synced is one line on every backend
            # (PostgreSQL's "relation does not exist" is not one).
            common.check_schema()
        server.prepare()

    common.run(prog, prepare)
    launcher = os_service.launch(CONF, server, restart_method='mutate')
    return launcher.wait()
