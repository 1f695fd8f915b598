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
"""Safe, automatic rolling upgrades for oslo-based services."""


def __getattr__(name):
    # version_info and __version__ are read from the package metadata on
    # first use, not on import: every console script imports this package,
    # and the lookup costs ``--help`` a tenth of its time.
    if name in ('version_info', '__version__'):
        import pbr.version

        info = pbr.version.VersionInfo('nova_versioning')
        globals().update(version_info=info,
                         __version__=info.version_string())
        return globals()[name]
    raise AttributeError('module %r has no attribute %r' % (__name__, name))
