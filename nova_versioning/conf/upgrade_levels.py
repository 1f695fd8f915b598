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
"""[upgrade_levels]: the RPC version cap of each RPC client."""

from oslo_config import cfg

from nova_versioning.conf import groups

upgrade_levels_group = cfg.OptGroup(
    'upgrade_levels',
    title='RPC version caps for rolling upgrades',
    help='Cap the RPC version this service sends to each RPC API, so that '
         'upgraded services keep talking to services still running an '
         'older release. Each option accepts:\n\n'
         '* unset (the default): no cap, send the latest version this '
         'code knows. Only safe once every receiver is upgraded.\n'
         '* ``auto``: derive the cap from the oldest service version '
         'recorded for the receiving service, and recompute it when the '
         'service reloads its configuration (SIGHUP).\n'
         '* an explicit RPC version ``X.Y`` of the current major version, '
         'from the version spoken by the oldest supported release up to '
         'the latest this code knows.\n'
         '* a release name of the version history (lower case, for '
         'example ``pike``): the version spoken by that release. Releases '
         'older than the oldest supported one are refused.\n\n'
         'Values are checked when the service starts; an invalid value '
         'stops it with an error naming the option.')

_FORMS = ('Unset: the latest version. "auto": from the minimum version of '
          'the %(binary)s services recorded. "X.Y": that RPC version. A '
          'release name (for example "pike"): the version of that '
          'release.')


def _opt(api, binary, purpose):
    return cfg.StrOpt(
        api,
        mutable=True,
        help='RPC version cap of messages this service sends to the %s '
             'RPC API (%s). %s' % (api, purpose, _FORMS % {'binary': binary}))


upgrade_levels_opts = [
    _opt('compute', 'nova-compute', 'served by nova-compute'),
    _opt('conductor', 'nova-conductor',
         'served by nova-conductor, including the versioned-objects '
         'calls of services without database access'),
    _opt('scheduler', 'nova-scheduler', 'served by nova-scheduler'),
]


def register_opts(conf):
    groups.register(conf, upgrade_levels_group, upgrade_levels_opts)


def list_opts():
    return {upgrade_levels_group: upgrade_levels_opts}
