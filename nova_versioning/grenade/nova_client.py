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
"""The API side of the grenade-nova job: Nova's own RPC clients.

Run by path with the Python of a Nova virtualenv (it imports Nova and
nothing of nova_versioning, which the old release's virtualenv does not
have)::

    <venv>/bin/python nova_client.py --config-file nova.conf

It plays nova-api: it reads one JSON command per line on stdin and
answers one JSON line on stdout; Nova's log goes to stderr. Commands:

``{"op": "send", "tag": T, "hosts": [H, ...], "casts": N, "calls": N}``
    ``N`` casts of ``cache_images`` to the conductor's ComputeTaskAPI (one
    image ``T-i`` each, for an aggregate holding ``hosts``): the conductor
    calls every compute. Then ``N`` calls of ``ComputeAPI.
    validate_console_port`` to each host, sent by this process with its
    own compute RPC client (``[upgrade_levels]/compute``, as nova-api).
    Answers ``{"images": [...], "calls": {"sent", "handled", "rejected",
    "lost", "errors"}, "cap": X.Y or null}``.
``{"op": "reset"}``
    What nova-api does on SIGHUP: forget the compute RPC client and its
    cap (``compute_rpcapi.reset_globals()``).
``{"op": "record", "host": H, "version": V}``
    A nova-compute record made by Nova's ``objects.Service``, then given
    the older ``version`` (as a compute that was never upgraded leaves
    it). Answers ``{"id": N}``.
``{"op": "destroy", "id": N}``
    Nova's ``Service.destroy()`` of that record.
"""

import argparse
import json
import sys
import uuid


class Client(object):

    def __init__(self, config_file):
        from nova import config
        from nova import context
        from nova import objects

        objects.register_all()
        config.parse_args(['nova-grenade-api', '--config-file',
                           config_file])
        self.context = context.get_admin_context()
        self.compute = None
        self.task = None

    def _apis(self):
        from nova.compute import rpcapi as compute_rpcapi
        from nova.conductor import rpcapi as conductor_rpcapi
        if self.compute is None:
            self.compute = compute_rpcapi.ComputeAPI()
        if self.task is None:
            # The conductor's RPC client itself: nova-api's ComputeTaskAPI
            # first looks the images up in Glance, which is not here.
            self.task = conductor_rpcapi.ComputeTaskAPI()
        return self.compute, self.task

    def _cap(self):
        client = self.compute.router.client(self.context)
        return client.version_cap

    def send(self, tag, hosts, casts, calls):
        import oslo_messaging as messaging

        from nova import objects
        compute, task = self._apis()
        aggregate = objects.Aggregate(
            self.context, id=1, uuid=str(uuid.uuid4()),
            name='grenade-%s' % tag, hosts=list(hosts), metadata={})
        images = []
        for index in range(casts):
            image = '%s-%d' % (tag, index)
            task.cache_images(self.context, aggregate, [image])
            images.append(image)
        counts = {'sent': 0, 'handled': 0, 'rejected': 0, 'lost': 0,
                  'errors': {}}
        for host in hosts:
            instance = objects.Instance(self.context, uuid=str(uuid.uuid4()),
                                        host=host, node=host)
            for _ in range(calls):
                counts['sent'] += 1
                try:
                    compute.validate_console_port(self.context, instance,
                                                  '6969', 'novnc')
                    counts['handled'] += 1
                except messaging.MessagingTimeout as exc:
                    counts['lost'] += 1
                    _count(counts['errors'], exc)
                except Exception as exc:
                    counts['rejected'] += 1
                    _count(counts['errors'], exc)
        return {'images': images, 'calls': counts, 'cap': self._cap()}

    def reset(self):
        from nova.compute import rpcapi as compute_rpcapi
        compute_rpcapi.reset_globals()
        self.compute = None
        return {}

    def record(self, host, version):
        from nova import context
        from nova import objects
        import sqlalchemy as sa

        mapping = [m for m in objects.CellMappingList.get_all(self.context)
                   if not m.is_cell0()][0]
        with context.target_cell(self.context, mapping) as cctx:
            service = objects.Service(cctx, host=host, binary='nova-compute',
                                      topic='compute')
            service.create()
        engine = sa.create_engine(mapping.database_connection)
        try:
            with engine.begin() as connection:
                connection.execute(
                    sa.text('UPDATE services SET version = :v '
                            'WHERE id = :id'),
                    {'v': version, 'id': service.id})
        finally:
            engine.dispose()
        return {'id': service.id}

    def destroy(self, id):
        from nova import context
        from nova import objects

        mapping = [m for m in objects.CellMappingList.get_all(self.context)
                   if not m.is_cell0()][0]
        with context.target_cell(self.context, mapping) as cctx:
            objects.Service.get_by_id(cctx, id).destroy()
        return {}


def _count(errors, exc):
    name = type(exc).__name__
    errors[name] = errors.get(name, 0) + 1


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--config-file', required=True)
    args = parser.parse_args(argv)
    client = Client(args.config_file)
    print(json.dumps({'ready': True}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        op = command.pop('op')
        try:
            answer = getattr(client, op)(**command)
        except Exception as exc:
            import traceback
            traceback.print_exc()
            answer = {'error': '%s: %s' % (type(exc).__name__, exc)}
        print(json.dumps(answer), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
