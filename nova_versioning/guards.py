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
"""Startup guards of control services.

Guard 1 (a service older than the rest of its kind) lives in the Service
object, where every create and re-registration passes. This module holds
guard 2: a control service (conductor, scheduler, API) refuses to start
while ``nova-compute`` services older than the oldest supported release
are still counted, because it would send them messages they cannot read.
"""

from oslo_log import log as logging

from nova_versioning import cells
from nova_versioning import conf as nv_conf
from nova_versioning import exception
from nova_versioning import history as nv_history
from nova_versioning import objects
from nova_versioning import records

LOG = logging.getLogger(__name__)

COMPUTE_BINARY = 'nova-compute'


def too_old_terms(history, minimum, conf=None):
    """The terms of Nova's too-old-compute sentence for ``history``.

    :param minimum: the minimum compute service version found.
    :param conf: the configuration read: with [api_database] set every
        cell was read, the "system" in Nova's words, else one "cell".
    """
    scope = 'system' if cells.enabled(conf or nv_conf.CONF) else 'cell'
    return {'product': history.rules.product,
            'oldest_release': history.oldest_supported.capitalize(),
            'scope': scope, 'minimum': minimum,
            'oldest': history.oldest_supported_version}


def describe_hosts(history, found):
    """"host (version N (release)), ..." of the records.

    A record read from one of Nova's cells is named with its cell:
    "host in cell2 (version N (release))".
    """
    def name(record):
        cell = getattr(record, 'cell_label', None)
        if cell:
            return '%s in %s' % (records.printable(record.host),
                                 records.printable(cell))
        return records.printable(record.host)

    return ', '.join('%s (version %s)'
                     % (name(record),
                        describe_version(history, record.version))
                     for record in found)


def describe_version(history, version):
    """"N (release)", or "unknown (N)" for a version no service writes."""
    if not records.version_known(version):
        return 'unknown (%s)' % records.printable(version)
    return history.describe(version)


def check_oldest_supported_computes(context, service_name, conf=None):
    """Refuse to start while too-old computes are counted.

    :param service_name: the starting service, for the message (for
        example "nova-conductor").
    :returns: the too-old compute records (empty when all is well) when
        [workarounds]/disable_compute_service_check_for_ffu turns the
        refusal into a warning.
    :raises TooOldComputeService: naming every such host and its version.
    """
    conf = conf or nv_conf.CONF
    history = nv_history.get_history(conf)
    oldest = history.oldest_supported_version
    too_old = objects.Service.get_counted_older_than(
        context, COMPUTE_BINARY, oldest)
    if not too_old:
        return []
    error = exception.TooOldComputeService(
        service=service_name, hosts=describe_hosts(history, too_old),
        **too_old_terms(history,
                        min(records.effective_version(svc.version)
                            for svc in too_old),
                        conf))
    if conf.workarounds.disable_compute_service_check_for_ffu:
        LOG.warning('%s Starting anyway because '
                    '[workarounds]/disable_compute_service_check_for_ffu '
                    'is set.', error)
        return too_old
    raise error
