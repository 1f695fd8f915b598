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
"""nova-versioning-compute: the sample compute service.

Has no database access: it registers and heartbeats through the conductor
(so the startup guard applies to it remotely) and serves the compute RPC
API.
"""

import sys

from nova_versioning import cmd


def main(argv=None, parsed=False):
    """Serve; the oslo.service backend must be chosen already."""
    from nova_versioning.cmd import service as cmd_service
    from nova_versioning.compute import manager

    return cmd_service.serve(
        'nova-versioning-compute', argv, parsed=parsed,
        binary='nova-compute', topic='compute',
        manager_cls=manager.ComputeManager,
        control=False, db_access=False)


def run_parsed():
    """Serve, once the command line is parsed (parsers)."""
    return main(parsed=True)


if __name__ == '__main__':
    sys.exit(cmd.compute_main())
