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
"""[api_database] and [cells]: the minimum version across Nova's cells.

With ``[api_database]/connection`` set, the minimum service versions are
read from every cell listed in the API database's ``cell_mappings`` (cell0
excepted), as Nova's ``get_minimum_version_all_cells`` does, instead of
from ``[database]`` alone.
"""

from oslo_config import cfg

from nova_versioning.conf import groups

api_database_group = cfg.OptGroup(
    'api_database',
    title='Nova API database',
    help='The API database of a Nova deployment with cells. When its '
         'connection is set, every minimum-version lookup, the pins '
         'report, the upgrade checks and the oldest-supported-compute '
         'guard read the services table of every cell mapped in its '
         'cell_mappings table (cell0 excepted). Only read.')

api_database_opts = [
    cfg.StrOpt('connection',
               secret=True,
               help='SQLAlchemy URL of Nova\'s API database, as in Nova\'s '
                    'own [api_database]/connection. Unset (the default): '
                    'the services table of [database] alone.'),
]

cells_group = cfg.OptGroup(
    'cells',
    title='Cells',
    help='How the cells of [api_database] are queried.')

POLICY_HOLD = 'hold'
POLICY_IGNORE = 'ignore'

cells_opts = [
    cfg.FloatOpt('timeout',
                 default=10.0,
                 min=0.1,
                 mutable=True,
                 help='Seconds each cell (and the API database) has to '
                      'answer. The cells are queried concurrently, so a '
                      'lookup takes at most about this long whatever the '
                      'number of cells.'),
    cfg.StrOpt('unanswered_cell',
               default=POLICY_HOLD,
               choices=[
                   (POLICY_HOLD, 'A lookup fails, naming the cells that '
                                 'did not answer: a running service keeps '
                                 'its last good pins, and a command fails. '
                                 'A pin is never lifted on partial data.'),
                   (POLICY_IGNORE, 'The cells that do not answer are left '
                                   'out, with a warning naming each; what '
                                   'Nova does.'),
               ],
               mutable=True,
               help='What a minimum-version lookup does when a cell does '
                    'not answer within [cells]/timeout (unreachable, '
                    'refusing, or too slow).'),
]


def register_opts(conf):
    groups.register(conf, api_database_group, api_database_opts)
    groups.register(conf, cells_group, cells_opts)


def list_opts():
    return {api_database_group: api_database_opts, cells_group: cells_opts}
