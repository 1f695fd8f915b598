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
"""Option groups registered so that each ConfigOpts owns its values.

oslo.config registers a group as a shallow copy of the OptGroup given: the
copy shares the original's table of options, and with it every override
and default set on them. A module-level OptGroup registered on several
ConfigOpts (the global CONF and a private one, the services of the
embedded rolling upgrade, one per test) would then see one ConfigOpts'
``set_override`` in all the others. :func:`register` gives each ConfigOpts
a group of its own, built from the module's OptGroup.
"""

from oslo_config import cfg


def register(conf, group, opts):
    """Register ``opts`` in ``conf``'s own copy of ``group``.

    :param group: the module's OptGroup (its name, title and help are
        used; it is never registered itself).
    """
    conf.register_group(cfg.OptGroup(
        group.name, title=group.title, help=group.help,
        dynamic_group_owner=group.dynamic_group_owner,
        driver_option=group.driver_option))
    conf.register_opts(opts, group=group.name)
