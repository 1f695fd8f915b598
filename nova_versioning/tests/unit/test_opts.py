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

from oslo_config import cfg
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


def _another_value(group, opt):
    """A valid value of ``opt`` other than its default."""
    choices = getattr(opt.type, 'choices', None)
    if choices:
        return next(choice for choice in choices if choice != opt.default)
    if isinstance(opt, cfg.BoolOpt):
        return not opt.default
    if isinstance(opt, (cfg.IntOpt, cfg.FloatOpt)):
        return (opt.type.min or 0) + 7
    if group == 'upgrade_levels':
        return '1.0'
    return 'another'


class OwnValuesTestCase(base.TestCase):
    """Each ConfigOpts keeps its own overrides and defaults."""

    def _conf(self):
        conf = cfg.ConfigOpts()
        for module in opts._MODULES:
            module.register_opts(conf)
        conf([], project='nova_versioning', default_config_files=[],
             default_config_dirs=[])
        return conf

    def test_override_and_default_stay_in_their_conf(self):
        first, second = self._conf(), self._conf()
        changed = 0
        for group, group_opts in opts.list_opts():
            name = _group_name(group)
            if name in ('DEFAULT', 'database'):
                continue
            for opt in group_opts:
                value = _another_value(name, opt)
                first.set_override(opt.dest, value, group=name)
                first.set_default(opt.dest, value, group=name)
                self.assertNotEqual(opt.default, first[name][opt.dest])
                # Read for the first time after the change (a value read
                # is cached by each ConfigOpts).
                self.assertEqual(opt.default, second[name][opt.dest],
                                 opt.dest)
                self.assertEqual(opt.default, nv_conf.CONF[name][opt.dest],
                                 opt.dest)
                changed += 1
        self.assertGreater(changed, 10)
