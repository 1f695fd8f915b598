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
"""Checks against real Nova (the nova-interop tox env).

Nova and this library both register their options on oslo.config's global
CONF, so the two never share a process: Nova's side of every comparison
runs in a child process of the same environment (``nova_side.py``), which
prints JSON; this library's side runs in the test process.
"""
