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
"""nova-versioning-conductor: the sample conductor service.

Serves the conductor RPC API, including the versioned-objects indirection
API that computes use instead of the database, and sends to the computes
and the scheduler through clients pinned per [upgrade_levels].
"""

import sys

from nova_versioning import cmd


def main(argv=None, parsed=False):
    """Serve; the oslo.service backend must be chosen already."""
    from nova_versioning.cmd import service as cmd_service
    from nova_versioning.conductor import manager

    return cmd_service.serve(
        'nova-versioning-conductor', argv, parsed=parsed,
        binary='nova-conductor', topic='conductor',
        manager_cls=manager.ConductorManager,
        control=True, db_access=True)


def run_parsed():
    """Serve, once the command line is parsed (parsers)."""
    return main(parsed=True)


if __name__ == '__main__':
    sys.exit(cmd.conductor_main())
