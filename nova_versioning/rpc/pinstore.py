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
"""The last good pin decisions of a service, kept on disk.

On the threading backend a worker process that died is replaced by a new
one, forked from the launching process, which knows nothing of the pins
of the one it replaces (a SIGHUP reloads the worker in place). The
service therefore writes every successful set of decisions to a small JSON
file under [DEFAULT]/state_path; a worker whose fresh resolution fails (the
database or the conductor unreachable, a bad value in the configuration)
starts from those instead of going down, and logs what changed against
them.
"""

import dataclasses
import json
import os
import tempfile

from oslo_log import log as logging

from nova_versioning.rpc import pinning

LOG = logging.getLogger(__name__)

_FIELDS = {field.name for field in dataclasses.fields(pinning.PinDecision)}


class PinStore(object):
    """JSON file of {api: decision} for one service (binary, host)."""

    def __init__(self, directory, binary, host):
        self.path = os.path.join(directory,
                                 'pins-%s-%s.json' % (binary, host))

    def load(self):
        """{api: PinDecision}; empty when missing or unreadable."""
        try:
            with open(self.path) as f:
                raw = json.load(f)
            if not isinstance(raw, dict):
                raise ValueError('not a JSON object')
            decisions = {}
            for api, values in raw.items():
                if not isinstance(values, dict) or values.get('api') != api:
                    raise ValueError('entry %r is not a decision of that '
                                     'API' % (api,))
                values = {k: v for k, v in values.items() if k in _FIELDS}
                values['hosts'] = tuple(values.get('hosts') or ())
                decisions[api] = pinning.PinDecision(**values)
            return decisions
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            LOG.warning('Ignoring the last known pins in %(path)s: %(exc)s',
                        {'path': self.path, 'exc': exc})
            return {}

    def save(self, decisions):
        """Write {api: PinDecision} atomically; never raises."""
        data = {api: dataclasses.asdict(decision)
                for api, decision in decisions.items() if decision}
        directory = os.path.dirname(self.path)
        tmp = None
        try:
            os.makedirs(directory, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=directory, prefix='.pins-')
            with os.fdopen(fd, 'w') as f:
                json.dump(data, f, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except OSError as exc:
            LOG.warning('Could not record the pins in %(path)s: %(exc)s',
                        {'path': self.path, 'exc': exc})
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
