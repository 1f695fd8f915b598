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
"""A rolling upgrade, run for real, under a steady RPC load.

The scenario (scenario.py) drives a fleet of sample services through the
stages of an N-2 -> N upgrade while a load generator (load.py) keeps
sending compute RPC calls and casts through auto-pinned clients, and
reports, per stage, the versions, the pins and every message sent,
answered, rejected or lost. The fleet (fleet.py) is either real processes
over a real broker and database, or services in this process on a SQLite
file and an in-process transport.
"""
