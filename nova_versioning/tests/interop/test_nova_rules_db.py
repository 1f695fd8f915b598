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
"""On Nova's own databases, the tools answer what Nova's code decides.

One Nova deployment per backend (API database, cell0, two cells, made by
nova-manage; see :mod:`.base`), records made by Nova's own objects; the
test classes, one per backend, are in :mod:`.test_nova_db`. Three
fleets in turn, around the oldest supported release (Gazpacho, 72, in
Nova 34): a compute at 71, then at 72, then one at 70. For each, Nova's
``ComputeAPI._determine_version_cap`` and ``raise_if_old_compute()`` (in a
child process) against ``nova-versioning-status pins`` and ``upgrade
check`` with ``history_provider = nova`` (this project's console scripts):
the minimum, the cap, the hosts at the minimum and the too-old verdict,
with Nova's own sentence, must be the same.
"""

import json
import os
import subprocess
import sys

import sqlalchemy as sa


C = 'nova-compute'

SERVICES = [
    dict(cell='cell1', host='cpu1', binary=C),
    dict(cell='cell1', host='cpu3', binary=C, version=71),
    dict(cell='cell1', host='ctl1', binary='nova-conductor'),
    dict(cell='cell1', host='cpu-down', binary=C, version=60,
         forced_down=True),
    dict(cell='cell2', host='cpu2', binary=C, version=72),
    dict(cell='cell2', host='cpu-gone', binary=C, version=50, deleted=True),
]

# (what changes before the check: {(cell, host): version}, the minimum,
# the hosts at it, whether Nova refuses the computes as too old).
FLEETS = [
    ({}, 71, [['cell1', 'cpu3']], True),
    ({('cell1', 'cpu3'): 72}, 72, [['cell1', 'cpu3'], ['cell2', 'cpu2']],
     False),
    ({('cell2', 'cpu2'): 70}, 70, [['cell2', 'cpu2']], True),
]

OLD_CHECK = 'Computes older than the oldest supported release'


class NovaRulesTestsMixin(object):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if cls.deployment is None:
            return
        cls.deployment.clear_services()
        cls.deployment.create_services(SERVICES)

    def _set_version(self, cell, host, version):
        engine = sa.create_engine(self.deployment.cell_urls[cell])
        try:
            with engine.begin() as connection:
                count = connection.execute(
                    sa.text('UPDATE services SET version = :v WHERE host = '
                            ':h AND deleted = 0'),
                    {'v': version, 'h': host}).rowcount
        finally:
            engine.dispose()
        self.assertEqual(1, count)

    def _conf_file(self):
        path = os.path.join(self.deployment.tmp, 'nv-rules.conf')
        with open(path, 'w') as f:
            f.write('[database]\nconnection = %s\n'
                    '[api_database]\nconnection = %s\n'
                    '[versioning]\nhistory_provider = nova\n'
                    '[upgrade_levels]\ncompute = auto\n'
                    % (self.deployment.cell_urls['cell1'],
                       self.deployment.api_url))
        return path

    def _status(self, *args):
        code = ('import sys; import nova_versioning.cmd as m; '
                'sys.exit(m.status_main())')
        proc = subprocess.run(
            [sys.executable, '-c', code, '--config-file',
             self._conf_file()] + list(args),
            capture_output=True, text=True, timeout=300,
            stdin=subprocess.DEVNULL)
        return proc.returncode, proc.stdout, proc.stderr

    def test_answers_equal_novas_around_the_oldest_supported(self):
        # Nova's decisions on every fleet in one child process, which
        # makes each fleet's changes in turn; then back to the first
        # fleet, and the same changes made here for this project's side.
        initial = {(s['cell'], s['host']): s['version'] for s in SERVICES
                   if s.get('version') is not None and not s.get('deleted')}
        steps = [[dict(cell=cell, host=host, version=version)
                  for (cell, host), version in sorted(changes.items())]
                 for changes, _minimum, _hosts, _too_old in FLEETS]
        novas = self.deployment.nova('rules', '--steps', json.dumps(steps))
        self.assertEqual(len(FLEETS), len(novas))
        for cell, host in sorted({key for changes, _m, _h, _o in FLEETS
                                  for key in changes}):
            self._set_version(cell, host, initial[cell, host])
        for (changes, minimum, hosts, too_old), nova in zip(FLEETS, novas):
            for (cell, host), version in changes.items():
                self._set_version(cell, host, version)
            before = self.deployment.checksums()
            code, out, err = self._status('pins', '--format', 'json')
            self.assertEqual(0, code, err)
            report = json.loads(out)
            self.assertTrue(report['history_source'].startswith(
                'live Nova'), report['history_source'])
            compute = report['apis'][0]
            self.assertEqual('compute', compute['api'])
            # The minimum and the hosts holding it, in every cell.
            self.assertEqual(minimum, compute['minimum_version'])
            self.assertEqual(hosts, sorted([h['cell'], h['host']]
                                           for h in compute['at_minimum']))
            # The cap, and the line Nova logs begins the audit line.
            self.assertEqual(nova['cap'], compute['cap'], nova)
            self.assertEqual(
                'Automatically selected compute RPC version %s from '
                'minimum service version %d' % (nova['cap'], minimum),
                nova['logged'])
            # The too-old verdict, with Nova's sentence first.
            self.assertEqual(too_old, nova['old_compute'] is not None, nova)
            code, out, err = self._status('upgrade', 'check', '--json')
            checks = {c['check']: c for c in json.loads(out)['checks']}
            old = checks[OLD_CHECK]
            if too_old:
                self.assertEqual(2, old['result'], old)
                self.assertTrue(old['details'].startswith(
                    nova['old_compute']), (old['details'], nova))
            else:
                self.assertEqual(0, old['result'], old)
            # Reading changed nothing in Nova's databases.
            self.assertEqual(before, self.deployment.checksums())
