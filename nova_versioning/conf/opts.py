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
"""Every option group, for oslo-config-generator (oslo.config.opts)."""

import collections

from nova_versioning.conf import cells
from nova_versioning.conf import database
from nova_versioning.conf import service
from nova_versioning.conf import upgrade_levels
from nova_versioning.conf import versioning
from nova_versioning.conf import workarounds

_MODULES = (cells, database, service, upgrade_levels, versioning,
            workarounds)


def list_opts():
    grouped = collections.defaultdict(list)
    for module in _MODULES:
        for group, opts in module.list_opts().items():
            grouped[group].extend(opts)
    return [(group, opts) for group, opts in grouped.items()]
