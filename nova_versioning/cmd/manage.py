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
"""nova-versioning-manage: database and service record administration.

    nova-versioning-manage --config-file F db sync [--version REV]
    nova-versioning-manage --config-file F db version
"""

import sys

from oslo_config import cfg

from nova_versioning.cmd import common
from nova_versioning import conf as nv_conf
from nova_versioning.db import migration

CONF = nv_conf.CONF
PROG = 'nova-versioning-manage'


class DbCommands(object):
    """Schema of the services table."""

    @staticmethod
    def sync():
        version = CONF.category.version or 'head'
        migration.db_sync(version)
        print('Database schema is at revision %s.'
              % migration.db_version())
        return 0

    @staticmethod
    def version():
        current = migration.db_version()
        head = migration.head_version()
        print('%s (newest known: %s)' % (current or 'not synced', head))
        return 0


CATEGORIES = {
    'db': DbCommands,
}


def add_command_parsers(subparsers):
    db = subparsers.add_parser('db', help=DbCommands.__doc__)
    db_actions = db.add_subparsers(dest='action', metavar='ACTION')
    db_actions.required = True
    sync = db_actions.add_parser(
        'sync', help='Create or upgrade the schema on [database]/connection.')
    sync.add_argument('--version', default=None,
                      help='Target revision (default: the newest).')
    db_actions.add_parser(
        'version', help='Print the schema revision of the database.')


category_opt = cfg.SubCommandOpt('category', title='Command categories',
                                 handler=add_command_parsers)


def main(argv=None):
    argv = sys.argv if argv is None else argv
    CONF.register_cli_opt(category_opt)
    common.parse_args(argv, PROG)
    handler = getattr(CATEGORIES[CONF.category.name], CONF.category.action)
    return common.run(PROG, handler)
