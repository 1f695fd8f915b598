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
"""Console scripts.

Importing this package selects oslo.service's backend before anything
imports oslo_service.service (oslo.messaging and oslo.versionedobjects do):
threading by default, eventlet when NOVA_VERSIONING_SERVICE_BACKEND=eventlet.
"""

import os
import warnings

from oslo_service import backend as _backend

BACKEND_ENV = 'NOVA_VERSIONING_SERVICE_BACKEND'


def _select_backend():
    name = os.environ.get(BACKEND_ENV, 'threading').strip().lower()
    choices = {'threading': _backend.BackendType.THREADING,
               'eventlet': _backend.BackendType.EVENTLET}
    if name not in choices:
        raise SystemExit('%s=%r is not valid: expected threading or '
                         'eventlet' % (BACKEND_ENV, name))
    if name == 'eventlet':
        # As every eventlet-based oslo service does: green threads
        # everywhere, or real threads and the eventlet hub deadlock on
        # shared locks (logging's among them).
        import eventlet
        eventlet.monkey_patch()
    if name == 'threading':
        # futurist imports eventlet when it is installed, which warns about
        # eventlet's deprecation although nothing here uses it.
        warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
    try:
        _backend.init_backend(choices[name])
    except _backend.exceptions.BackendAlreadySelected:
        pass


_select_backend()
