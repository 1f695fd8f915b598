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
"""Configuration options, one module per option group.

Importing this package registers every group on the global
:data:`CONF`, as oslo services do.
"""

from oslo_config import cfg

from nova_versioning.conf import cells
from nova_versioning.conf import database
from nova_versioning.conf import service
from nova_versioning.conf import upgrade_levels
from nova_versioning.conf import versioning
from nova_versioning.conf import workarounds

CONF = cfg.CONF

cells.register_opts(CONF)
database.register_opts(CONF)
service.register_opts(CONF)
upgrade_levels.register_opts(CONF)
versioning.register_opts(CONF)
workarounds.register_opts(CONF)
