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
"""Nova's side of the nova-interop tests, run in a process of its own.

Nova and nova_versioning both register options on oslo.config's global
CONF, so the test process never imports Nova: it runs this script, in the
same virtualenv, and reads the JSON it prints on stdout::

    python -m nova_versioning.tests.interop.nova_side COMMAND \\
        --config-file nova.conf [ARGS...]

Commands:

``create-services --json '[{"cell": NAME, "host": H, "binary": B,
"version": N, "forced_down": false, "deleted": false}, ...]'``
    Creates each record with Nova's own ``objects.Service`` in that cell
    (``context.target_cell``). Nova always writes its ``SERVICE_VERSION``
    on create, so an older ``--version`` is then written into the row's
    ``version`` column with one SQL UPDATE (the only way to have an older
    record without running older Nova code). ``--forced-down`` is saved
    with Nova's object; ``--deleted`` destroys it with Nova's object.
    ``version``, ``forced_down`` and ``deleted`` are optional. Prints
    ``[{"id": ..., "uuid": ..., "version": N}, ...]``.

``minimum --binary B``
    ``nova.objects.service.get_minimum_version_all_cells`` (Nova's
    default, ``require_all=False``), the compute RPC version Nova's
    history maps it to (the cap of ``[upgrade_levels]/compute = auto``)
    and, for information, the hosts of every cell at that minimum, read
    with Nova's objects. Prints ``{"minimum": N, "cap": "X.Y",
    "hosts": [[cell, host], ...]}``.

``history``
    ``SERVICE_VERSION``, ``SERVICE_VERSION_HISTORY``,
    ``SERVICE_VERSION_ALIASES`` and ``OLDEST_SUPPORTED_SERVICE_VERSION``.

``rules [--steps JSON]``
    What Nova's own code decides on the deployment: the cap
    ``ComputeAPI._determine_version_cap`` returns for ``compute = auto``
    and the line it logs, and ``nova.utils.raise_if_old_compute()``'s
    refusal. Prints ``{"cap": "X.Y", "logged": "...", "old_compute":
    "..." or null}``. With ``--steps '[[{"cell": NAME, "host": H,
    "version": N}, ...], ...]'``, in one process: for each step, its
    versions written (one SQL UPDATE of the live record of each host),
    then the decisions; prints the list of them.
"""

import argparse
import json
import sys


def _nova(config_file):
    from nova import config
    from nova import context
    from nova import objects
    from nova import rpc

    objects.register_all()
    config.parse_args(['nova_side', '--config-file', config_file],
                      init_rpc=False)
    # Nova's objects send notifications when they change: to nowhere
    # (NovaDeployment's configuration sets the noop driver).
    from oslo_config import cfg
    rpc.init(cfg.CONF)
    return context.get_admin_context()


def _cell(ctx, name):
    from nova import objects
    for mapping in objects.CellMappingList.get_all(ctx):
        if name in (mapping.name, mapping.uuid):
            return mapping
    raise SystemExit('no cell %r' % name)


def _create(ctx, mapping, spec):
    from nova import context
    from nova import objects
    import sqlalchemy as sa

    with context.target_cell(ctx, mapping) as cctx:
        service = objects.Service(cctx, host=spec['host'],
                                  binary=spec['binary'],
                                  topic=spec['binary'][len('nova-'):])
        service.create()
        if spec.get('forced_down'):
            service.forced_down = True
            service.save()
        version = service.version
        wanted = spec.get('version')
        if wanted is not None and wanted != service.version:
            engine = sa.create_engine(mapping.database_connection)
            try:
                with engine.begin() as connection:
                    connection.execute(
                        sa.text('UPDATE services SET version = :v '
                                'WHERE id = :id'),
                        {'v': wanted, 'id': service.id})
            finally:
                engine.dispose()
            version = wanted
        if spec.get('deleted'):
            service.destroy()
    return {'id': service.id, 'uuid': service.uuid, 'version': version}


def create_services(args):
    ctx = _nova(args.config_file)
    return [_create(ctx, _cell(ctx, spec['cell']), spec)
            for spec in json.loads(args.json)]


def minimum(args):
    from nova import context
    from nova import objects
    from nova.objects import service as service_obj

    ctx = _nova(args.config_file)
    value = service_obj.get_minimum_version_all_cells(ctx, [args.binary])
    history = service_obj.SERVICE_VERSION_HISTORY
    cap = history[value or service_obj.SERVICE_VERSION]['compute_rpc']
    hosts = []
    if value:
        for mapping in objects.CellMappingList.get_all(ctx):
            if mapping.is_cell0():
                continue
            try:
                with context.target_cell(ctx, mapping) as cctx:
                    services = objects.ServiceList.get_by_binary(
                        cctx, args.binary)
            except Exception:
                continue
            hosts.extend([mapping.name, s.host] for s in services
                         if s.version == value and not s.forced_down)
    return {'minimum': value, 'cap': cap, 'hosts': sorted(hosts)}


def rules(args):
    """What Nova's own code decides on the deployment as it is.

    ``cap``: ``ComputeAPI._determine_version_cap`` (all cells, since the
    configuration sets [api_database]) and the line it logs;
    ``old_compute``: the message of ``nova.utils.raise_if_old_compute()``,
    or None when it passes. With ``--steps``, a list of them: one after
    each step's versions are written.
    """
    ctx = _nova(args.config_file)
    if args.steps is None:
        return _rules()
    results = []
    for step in json.loads(args.steps):
        for change in step:
            _set_version(_cell(ctx, change['cell']), change['host'],
                         change['version'])
        results.append(_rules())
    return results


def _set_version(mapping, host, version):
    import sqlalchemy as sa

    engine = sa.create_engine(mapping.database_connection)
    try:
        with engine.begin() as connection:
            count = connection.execute(
                sa.text('UPDATE services SET version = :v WHERE host = :h '
                        'AND deleted = 0'), {'v': version, 'h': host}).rowcount
    finally:
        engine.dispose()
    if count != 1:
        raise SystemExit('%d live records of host %r' % (count, host))


def _rules():
    from unittest import mock

    from nova.compute import rpcapi
    from nova import utils
    import oslo_messaging as messaging

    rpcapi.LAST_VERSION = None
    target = messaging.Target(topic=rpcapi.RPC_TOPIC, version='6.0')
    result = {}
    with mock.patch.object(rpcapi.LOG, 'info') as info, \
            mock.patch.object(rpcapi.LOG, 'error'):
        try:
            result['cap'] = rpcapi.ComputeAPI._determine_version_cap(target)
            result['logged'] = (info.call_args[0][0] % info.call_args[0][1]
                                if info.called else None)
        except Exception as exc:
            result['cap'] = None
            result['error'] = '%s: %s' % (type(exc).__name__, exc)
    try:
        utils.raise_if_old_compute()
        result['old_compute'] = None
    except Exception as exc:
        result['old_compute'] = str(exc)
    return result


def history(args):
    from nova.objects import service as service_obj
    return {'service_version': service_obj.SERVICE_VERSION,
            'history': [dict(entry) for entry in
                        service_obj.SERVICE_VERSION_HISTORY],
            'aliases': dict(service_obj.SERVICE_VERSION_ALIASES),
            'oldest_supported':
                service_obj.OLDEST_SUPPORTED_SERVICE_VERSION}


def main(argv=None):
    parser = argparse.ArgumentParser(prog='nova_side')
    sub = parser.add_subparsers(dest='command', required=True)
    create = sub.add_parser('create-services')
    create.add_argument('--json', required=True)
    create.set_defaults(func=create_services)
    mini = sub.add_parser('minimum')
    mini.add_argument('--binary', default='nova-compute')
    mini.set_defaults(func=minimum)
    hist = sub.add_parser('history')
    hist.set_defaults(func=history)
    rule = sub.add_parser('rules')
    rule.add_argument('--steps')
    rule.set_defaults(func=rules)
    for p in (create, mini, hist, rule):
        p.add_argument('--config-file', required=True)
    args = parser.parse_args(argv)
    json.dump(args.func(args), sys.stdout, sort_keys=True)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
