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
    nova-versioning-manage --config-file F db version [--format table|json]
    nova-versioning-manage --config-file F db index create|drop
    nova-versioning-manage --config-file F service list [--binary B]
        [--cell CELL] [--format table|json]
    nova-versioning-manage --config-file F service delete HOST BINARY
    nova-versioning-manage --config-file F service force-down HOST BINARY
        [--unset]
"""

import difflib
import json

from oslo_log import log as logging

from nova_versioning import cells
from nova_versioning.cmd import cli
from nova_versioning.cmd import common
from nova_versioning.cmd import parsers
from nova_versioning import conf as nv_conf
from nova_versioning import context as nv_context
from nova_versioning.db import migration
from nova_versioning import exception
from nova_versioning import objects
from nova_versioning.objects import service as service_obj
from nova_versioning import pinreport

LOG = logging.getLogger(__name__)

CONF = nv_conf.CONF
PROG = 'nova-versioning-manage'


class DbCommands(object):
    """Schema of the services table."""

    @staticmethod
    def sync():
        version = CONF.category.version or 'head'
        migration.check_revision(version)
        # The database answers within [versioning]/database_operation_
        # timeout before anything is written; then only connecting stays
        # bounded, since a migration may rightly take longer than a query.
        migration.schema_state()
        common.bound_database_operations(statements=False)
        migration.dispose()
        state = migration.db_sync(version)
        if state.kind == migration.NOVA:
            print('Nothing to do: %s.' % state.describe())
            return 0
        if state.kind == migration.LEGACY:
            print('Moved the schema revision %s from %s to %s.'
                  % (state.revision, migration.LEGACY_VERSION_TABLE,
                     migration.VERSION_TABLE))
        print('Database schema is at revision %s.'
              % migration.db_version())
        return 0

    @staticmethod
    def index():
        create = CONF.category.operation == 'create'
        changed = migration.nova_index(create=create)
        name = migration.NOVA_OPT_IN_INDEX
        if create:
            print('Created the index %s on Nova\'s services table.' % name
                  if changed else 'The index %s is already there.' % name)
        else:
            print('Dropped the index %s from Nova\'s services table.' % name
                  if changed else 'The index %s is not there.' % name)
        return 0

    @staticmethod
    def version():
        # Only db sync may create the database.
        cli.require_database(CONF)
        state = migration.schema_state()
        head = migration.head_version()
        if CONF.category.output_format == 'json':
            print(json.dumps({'current': state.revision, 'newest': head},
                             sort_keys=True))
            return 0
        if state.kind in (migration.NOVA, migration.FOREIGN):
            print('%s (newest known: %s): %s.' % (
                state.revision or 'none', head, state.describe()))
            return 0
        print('%s (newest known: %s)' % (state.revision or 'not synced',
                                         head))
        return 0


class ServiceCommands(object):
    """Service records: list, delete, force down."""

    @staticmethod
    def _get(context, host, binary):
        """The live record of (host, binary); ServiceNotFound otherwise."""
        service = objects.Service.get_by_host_and_binary(context, host,
                                                         binary)
        if service is None:
            raise exception.ServiceNotFound(
                service='%s on host %s (no live record)' % (binary, host))
        return service

    @staticmethod
    def list_records(context, binary=None, conf=None, now=None, cell=None):
        """The live records as plain data, with their standing.

        With [api_database]/connection set, the records of every cell
        (or of ``cell``, a cell name or uuid), each with its cell.
        """
        conf = conf if conf is not None else CONF
        if cells.enabled(conf):
            services = cells.get_all(conf, binary=binary, cell=cell)
        elif cell is not None:
            raise exception.InvalidOption(
                group='api_database', name='connection', value=None,
                where='', allowed='the SQLAlchemy URL of Nova\'s API '
                'database: --cell %s filters the cells it maps' % cell)
        else:
            services = objects.Service.get_all(context, binary=binary)
        fleet = pinreport.Fleet(services, conf=conf, now=now)
        return [fleet.describe_service(record) for record in fleet.records]

    @staticmethod
    def list():
        if CONF.category.binary is not None:
            service_obj.validate_binary(CONF.category.binary)
        common.check_schema()
        context = nv_context.get_admin_context()
        records = ServiceCommands.list_records(
            context, binary=CONF.category.binary,
            cell=CONF.category.cell)
        if not records and CONF.category.binary is not None:
            _check_known_binary(context, CONF.category.binary)
        if CONF.category.output_format == 'json':
            print(json.dumps(records, indent=2, sort_keys=True))
            return 0
        with_cell = cells.enabled(CONF)
        rows = [[r['host']] + ([r['cell']] if with_cell else []) + [
                 r['binary'],
                 '%s (%s)' % (r['version'], r['release'])
                 if r['release'] else r['version'],
                 'yes' if r['forced_down'] else 'no',
                 'yes' if r['disabled'] else 'no',
                 r['last_heartbeat'],
                 'yes' if r['stale'] else 'no',
                 'yes' if r['counted'] else 'no'] for r in records]
        print('\n'.join(common.format_table(
            ['HOST'] + (['CELL'] if with_cell else []) + [
             'BINARY', 'VERSION', 'FORCED DOWN', 'DISABLED',
             'LAST HEARTBEAT', 'STALE', 'COUNTED'], rows)))
        return 0

    @staticmethod
    def delete_record(context, host, binary):
        """Soft-delete the live record of (host, binary); return it."""
        service = ServiceCommands._get(context, host, binary)
        service.destroy()
        LOG.debug('Deleted the %(binary)s record of host %(host)s '
                  '(version %(version)s)',
                  {'binary': service.binary, 'host': service.host,
                   'version': service.version})
        return service

    @staticmethod
    def delete():
        service_obj.validate_binary(CONF.category.service_binary)
        common.check_schema()
        if migration.schema_state().kind == migration.NOVA:
            # Nova's own delete also removes the host's compute nodes,
            # placement resource provider and host mapping.
            raise exception.NovaDatabase(
                reason='Refusing to delete the %s record of host %s: this '
                       'is a Nova database, where Nova must also remove '
                       'the host\'s compute nodes, resource provider and '
                       'host mapping. Use Nova\'s API: %s (or service '
                       'force-down here, which Nova honours)'
                       % (CONF.category.service_binary,
                          CONF.category.service_host,
                          cli.nova_delete_command(
                              CONF.category.service_host,
                              CONF.category.service_binary)))
        service = ServiceCommands.delete_record(
            nv_context.get_admin_context(), CONF.category.service_host,
            CONF.category.service_binary)
        print('Deleted the %s record of host %s; it no longer counts '
              'toward the minimum version.' % (service.binary, service.host))
        return 0

    @staticmethod
    def force_down_record(context, host, binary, down=True):
        """Set or clear forced_down on the live record; return it."""
        service = ServiceCommands._get(context, host, binary)
        if service.forced_down != down:
            # A state field: the recorded version is left alone.
            service.forced_down = down
            service.save()
            LOG.debug('Set forced_down=%(down)s on the %(binary)s record '
                      'of host %(host)s', {'down': down,
                                           'binary': service.binary,
                                           'host': service.host})
        return service

    @staticmethod
    def force_down():
        service_obj.validate_binary(CONF.category.service_binary)
        common.check_schema()
        down = not CONF.category.unset
        service = ServiceCommands.force_down_record(
            nv_context.get_admin_context(), CONF.category.service_host,
            CONF.category.service_binary, down=down)
        if down:
            print('The %s record of host %s is forced down; it no longer '
                  'counts toward the minimum version.'
                  % (service.binary, service.host))
        else:
            print('The %s record of host %s is no longer forced down; it '
                  'counts toward the minimum version again.'
                  % (service.binary, service.host))
        return 0


def known_binaries(context):
    """The binaries of the records, and those the history describes."""
    binaries = {record.binary
                for record in objects.Service.get_all(context)}
    binaries.update(pinreport.binary_of(api)
                    for api in pinreport.Fleet.load(context).apis())
    return sorted(binaries)


def _check_known_binary(context, binary):
    """Raise UnknownBinary when no record nor API knows ``binary``."""
    known = known_binaries(context)
    if binary in known:
        return
    raise UnknownBinary(binary, known)


class UnknownBinary(exception.NovaVersioningException):
    def __init__(self, binary, known):
        close = difflib.get_close_matches(binary, known, n=1)
        super().__init__(
            'service list --binary %s: no such binary%s (known: %s)'
            % (binary, '; did you mean %s?' % close[0] if close else '',
               ', '.join(known) or 'none'))


CATEGORIES = {
    'db': DbCommands,
    'service': ServiceCommands,
}

ACTIONS = {
    'force-down': 'force_down',
}

# Quoted by argument errors.
FORMS = parsers.MANAGE_FORMS
add_command_parsers = parsers.add_manage_parsers
category_opt = parsers.manage_category_opt


def main(argv=None):
    parsers.parse_script('manage', argv)
    return run_parsed()


def run_parsed():
    """The command, once its command line is parsed (parsers)."""
    objects.register_all()
    common.setup(PROG, one_shot=True)
    action = CONF.category.action
    common.bound_database_operations()
    handler = getattr(CATEGORIES[CONF.category.name],
                      ACTIONS.get(action, action))
    return common.run(PROG, handler)
