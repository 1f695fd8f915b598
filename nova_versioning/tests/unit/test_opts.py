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
"""The options published for oslo-config-generator."""

from stevedore import driver

from nova_versioning import conf as nv_conf
from nova_versioning.conf import opts
from nova_versioning.tests import base


def _group_name(group):
    return group if isinstance(group, str) else group.name


class ListOptsTestCase(base.TestCase):

    def _listed(self):
        return {(_group_name(group), opt.dest): opt
                for group, group_opts in opts.list_opts()
                for opt in group_opts}

    def test_entry_point(self):
        mgr = driver.DriverManager('oslo.config.opts', 'nova_versioning')
        self.assertIs(opts.list_opts, mgr.driver)

    def test_every_option_of_the_project_groups_is_listed(self):
        conf = nv_conf.CONF
        listed = set(self._listed())
        for group in ('upgrade_levels', 'versioning', 'workarounds'):
            registered = {(group, opt.dest) for opt in
                          (info['opt'] for info in
                           conf._groups[group]._opts.values())}
            self.assertEqual(registered, {item for item in listed
                                          if item[0] == group})
        for name in ('state_path', 'host', 'report_interval'):
            self.assertIn(('DEFAULT', name), listed)

    def test_stale_service_timeout(self):
        opt = self._listed()[('versioning', 'stale_service_timeout')]
        self.assertEqual((0, 0, True),
                         (opt.default, opt.type.min, opt.mutable))
