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
"""Benchmarks of the costs the design promises to keep low.

``python -m nova_versioning.bench [--quick] [--output-dir DIR] [--only
NAME ...]`` measures, side by side in one run, this library and the
baseline it replaces, and writes ``results.md`` and ``results.json``
(see doc/source/benchmarks.rst). Benchmarks report; they never fail on
timing.

Importing this package selects oslo.service's threading backend, as the
tests do: the benchmark process is a client and an in-process conductor,
never an eventlet service (the reload figure starts real services with
either backend).
"""

import warnings

from oslo_service import backend as _backend

warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')

try:
    _backend.init_backend(_backend.BackendType.THREADING)
except _backend.exceptions.BackendAlreadySelected:
    pass
