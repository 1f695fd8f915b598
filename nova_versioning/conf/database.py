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
"""[DEFAULT] state_path and the oslo.db [database] group."""

from oslo_config import cfg
from oslo_db import options as db_options

DEFAULT_SQLITE_NAME = 'nova_versioning.sqlite'

path_opts = [
    cfg.StrOpt('state_path',
               default='/var/lib/nova-versioning',
               help='Directory where the service keeps its state, such as '
                    'the embedded SQLite database used when '
                    '[database]/connection is not set.'),
]


def default_connection():
    return 'sqlite:///$state_path/%s' % DEFAULT_SQLITE_NAME


def register_opts(conf):
    conf.register_opts(path_opts)
    db_options.set_defaults(conf, connection=default_connection())


def list_opts():
    # The [database] group belongs to oslo.db, which publishes it under its
    # own oslo.config.opts entry point.
    return {'DEFAULT': path_opts}
