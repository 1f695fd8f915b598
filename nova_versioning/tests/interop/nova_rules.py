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
"""Nova's own answers on version pins, printed as JSON.

Run in a child process of the nova-interop env (it imports Nova, whose
options live on oslo.config's global CONF)::

    python -m nova_versioning.tests.interop.nova_rules CONFIG_FILE VALUE...

CONFIG_FILE sets ``transport_url = fake://`` (no broker is used). Prints
one JSON document:

* ``nova_version`` and ``tables``: what Nova's imported modules hold;
* ``auto``: for every minimum compute service version from 0 to
  SERVICE_VERSION + 1, what ``ComputeAPI._determine_version_cap`` returns
  and logs at INFO, or the error it raises;
* ``old_compute``: for the same minimums, the message of
  ``nova.utils.raise_if_old_compute()``, or None when it passes;
* ``pins``: for each VALUE and every release name of
  ``ComputeAPI.VERSION_ALIASES``, the version cap of the client Nova's
  ComputeAPI router builds with ``[upgrade_levels]/compute = VALUE``.

Nova reads the minimum through ``objects.Service.get_minimum_version``
(one cell, no [api_database]); it is patched to each minimum in turn, so
the rest of each call is Nova's own code.
"""

import json
import sys
from unittest import mock

from nova_versioning.histories import nova_tables


def _message(logger_mock):
    if not logger_mock.called:
        return None
    args = logger_mock.call_args[0]
    return args[0] % args[1] if len(args) > 1 else args[0]


def main(argv):
    config_file, values = argv[1], argv[2:]

    from nova.compute import rpcapi
    import nova.conf
    from nova import config
    from nova import objects
    from nova.objects import service
    from nova import utils
    import oslo_messaging as messaging

    conf = nova.conf.CONF
    config.parse_args([argv[0], '--config-file', config_file])
    objects.register_all()

    target = messaging.Target(topic=rpcapi.RPC_TOPIC, version='6.0')
    auto = {}
    old_compute = {}
    for minimum in range(service.SERVICE_VERSION + 2):
        with mock.patch.object(objects.Service, 'get_minimum_version',
                               return_value=minimum):
            rpcapi.LAST_VERSION = None
            with mock.patch.object(rpcapi.LOG, 'info') as info, \
                    mock.patch.object(rpcapi.LOG, 'error'):
                try:
                    cap = rpcapi.ComputeAPI._determine_version_cap(target)
                    auto[minimum] = {'cap': cap, 'logged': _message(info)}
                except Exception as exc:
                    auto[minimum] = {'error': type(exc).__name__,
                                     'message': str(exc)}
            try:
                utils.raise_if_old_compute()
                old_compute[minimum] = None
            except Exception as exc:
                old_compute[minimum] = str(exc)
    rpcapi.LAST_VERSION = None

    pins = {}
    for value in list(rpcapi.ComputeAPI.VERSION_ALIASES) + values:
        rpcapi._ROUTER = None
        conf.set_override('compute', value, group='upgrade_levels')
        pins[value] = rpcapi.ComputeAPI().router.default_client.version_cap
    rpcapi._ROUTER = None
    conf.clear_override('compute', group='upgrade_levels')

    json.dump(dict(
        nova_tables.imported(),
        auto=auto,
        old_compute=old_compute,
        pins=pins,
    ), sys.stdout)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
