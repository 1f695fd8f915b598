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
"""Which of Nova's tables make its version history, and where they are.

Standard library only, so that a process that imports Nova itself (the
snapshot tool, the nova-interop tests' child processes) can use it without
registering this library's options next to Nova's.
"""

import importlib
import importlib.metadata

# (module file under the nova package, class or None, name) of each table.
TABLES = {
    'service_version': ('objects/service.py', None, 'SERVICE_VERSION'),
    'service_version_history': ('objects/service.py', None,
                                'SERVICE_VERSION_HISTORY'),
    'service_version_aliases': ('objects/service.py', None,
                                'SERVICE_VERSION_ALIASES'),
    'oldest_supported_service_version': (
        'objects/service.py', None, 'OLDEST_SUPPORTED_SERVICE_VERSION'),
    'compute_version_aliases': ('compute/rpcapi.py', 'ComputeAPI',
                                'VERSION_ALIASES'),
}


def _plain(value):
    # JSON's shapes: tuples become lists, mappings plain dicts.
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def imported():
    """{'nova_version': X.Y.Z, 'tables': {...}} from Nova's own modules.

    Imports Nova: only for a process of its own.
    """
    tables = {}
    for key, (path, cls, name) in TABLES.items():
        module = importlib.import_module(
            'nova.' + path[:-len('.py')].replace('/', '.'))
        owner = getattr(module, cls) if cls else module
        tables[key] = _plain(getattr(owner, name))
    return {'nova_version': importlib.metadata.version('nova'),
            'tables': tables}
