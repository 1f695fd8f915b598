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

# Tests run on oslo.service's threading backend, the library's default.
# It must be chosen before anything imports oslo_service.service
# (oslo.messaging and oslo.versionedobjects do).
from oslo_service import backend as _backend

try:
    _backend.init_backend(_backend.BackendType.THREADING)
except _backend.exceptions.BackendAlreadySelected:
    pass
