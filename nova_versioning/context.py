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
"""Request context able to carry oslo.db transactions."""

from oslo_context import context
from oslo_db.sqlalchemy import enginefacade


@enginefacade.transaction_context_provider
class RequestContext(context.RequestContext):
    """oslo.context RequestContext usable with the enginefacade.

    :param caller_service_version: the service version a caller of the
        conductor declares for its own code (see
        :mod:`nova_versioning.conductor.rules`); sent with the context
        under ``nova_versioning_caller``, which older receivers ignore.
    :param caller_host: the host the caller declares it runs on.
    """

    CALLER_KEY = 'nova_versioning_caller'

    def __init__(self, *args, caller_service_version=None, caller_host=None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.caller_service_version = caller_service_version
        self.caller_host = caller_host

    def to_dict(self):
        values = super().to_dict()
        if self.caller_service_version is not None:
            values[self.CALLER_KEY] = {
                'service_version': self.caller_service_version,
                'host': self.caller_host}
        return values

    @classmethod
    def from_dict(cls, values, **kwargs):
        caller = values.get(cls.CALLER_KEY)
        if isinstance(caller, dict):
            kwargs.setdefault('caller_service_version',
                              caller.get('service_version'))
            kwargs.setdefault('caller_host', caller.get('host'))
        return super().from_dict(values, **kwargs)


def get_admin_context():
    return RequestContext(is_admin=True, overwrite=False)
