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
"""[workarounds]: escape hatches an operator sets on one service."""

from oslo_config import cfg

from nova_versioning.conf import groups

workarounds_group = cfg.OptGroup(
    'workarounds',
    title='Workaround options',
    help='Options that relax a safety check on the service whose '
         'configuration sets them. Each is meant for a specific, '
         'temporary situation.')

workarounds_opts = [
    cfg.BoolOpt('disable_compute_service_check_for_ffu',
                default=False,
                help='Set on a control service (conductor, scheduler, API) '
                     'during a fast-forward upgrade to turn its startup '
                     'refusal into a warning when nova-compute services '
                     'older than the oldest supported release are still '
                     'recorded. Only the service that sets it is affected. '
                     'Unset it once the old computes are upgraded or '
                     'removed.'),
]


def register_opts(conf):
    groups.register(conf, workarounds_group, workarounds_opts)


def list_opts():
    return {workarounds_group: workarounds_opts}
