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
"""The behaviour the baselines stand for: Nova's minimum-version reads.

In Nova every ``get_minimum_version`` reaches the database unless the
process enabled its (TTL-less) cache, and ``Service.save()`` calls
``_check_minimum_version()``, hence reads the minimum, on every save,
heartbeats included. :func:`nova_behaviour` makes this library do the
same, in this process, for the duration of the block: the minimum-version
cache is bypassed (every lookup is one query) and every save reads the
minimum of its binary first.
"""

import contextlib

from nova_versioning.objects import service as service_obj


class Uncached(object):
    """A MinimumVersionCache that never caches: every lookup queries."""

    loads = 0
    generation = 0

    def get_multi(self, binaries, load, **kwargs):
        binaries = list(dict.fromkeys(binaries))
        self.loads += 1
        values = load(binaries)
        return {binary: int(values.get(binary, 0)) for binary in binaries}

    def get(self, binary, load, **kwargs):
        return self.get_multi([binary], load, **kwargs)[binary]

    def peek(self, binary):
        return None

    def seed(self, binary, version, generation):
        pass

    def forget(self, binary):
        pass

    def clear(self):
        pass


@contextlib.contextmanager
def nova_behaviour():
    """Within the block, minimum-version reads behave as Nova's."""
    service_cls = service_obj.Service
    original_cache = service_obj.MIN_VERSION_CACHE
    original_update = service_cls.__dict__['_guarded_update']

    def _guarded_update(self, updates):
        # Nova's Service.save(): self._check_minimum_version() first.
        service_obj._minimum_versions(self._context, [self.binary])
        return original_update(self, updates)

    service_obj.MIN_VERSION_CACHE = Uncached()
    service_cls._guarded_update = _guarded_update
    try:
        yield
    finally:
        service_cls._guarded_update = original_update
        service_obj.MIN_VERSION_CACHE = original_cache
