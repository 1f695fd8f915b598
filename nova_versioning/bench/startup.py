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
"""Figure 6: how long a console script takes, as a whole process.

Each console script is started as an operator starts it (the installed
script, a new Python process each time) and timed until it exits, against
a bare ``python -c "import oslo_config.cfg, sqlalchemy"``: the least a
command reading an oslo.config file and a database has to import. Rounds
alternate who goes first; the ratio of each round is taken to its own
bare run, and the figure reports the median of those ratios.

Cases: ``--help`` of ``nova-versioning-status`` and of the conductor
service (which imports no database, messaging or eventlet code before it
parses its command line), an argument error, and ``nova-versioning-status
pins`` on an SQLite database of 1000 service records.
"""

import os
import statistics
import subprocess
import sys
import time

from nova_versioning.bench import common
from nova_versioning.bench import data
from nova_versioning.db import models

NAME = 'startup'
ROWS = 1000
ROUNDS = {'full': 20, 'quick': 10, 'tiny': 1}
BARE = [sys.executable, '-c', 'import oslo_config.cfg, sqlalchemy']
TIMEOUT = 120


def _script(name):
    """The installed console script, or the same entry point run by -c."""
    path = os.path.join(os.path.dirname(sys.executable), name)
    if os.path.exists(path):
        return [path]
    function = name.replace('nova-versioning-', '') + '_main'
    return [sys.executable, '-c', 'import sys; from nova_versioning import '
            'cmd; sys.argv[0] = %r; sys.exit(cmd.%s())' % (name, function)]


def _database(tmpdir):
    """A configuration file naming an SQLite database of ROWS records."""
    path = os.path.join(tmpdir, 'startup.sqlite')
    config = os.path.join(tmpdir, 'startup.conf')
    with open(config, 'w') as f:
        f.write('[DEFAULT]\nstate_path = %s\n[database]\nconnection = '
                'sqlite:///%s\n' % (tmpdir, path))
    subprocess.run(_script('nova-versioning-manage') +
                   ['--config-file', config, 'db', 'sync'], check=True,
                   capture_output=True, timeout=TIMEOUT)
    engine = data.sa.create_engine('sqlite:///' + path)
    try:
        data.insert(engine, models.BASE.metadata.tables['services'],
                    data.generate(ROWS))
    finally:
        engine.dispose()
    return config


def _cases(config):
    """(label, command, expected exit code, target ratio)."""
    status = _script('nova-versioning-status')
    return [
        ('nova-versioning-status --help', status + ['--help'], 0, 1.5),
        ('nova-versioning-conductor --help',
         _script('nova-versioning-conductor') + ['--help'], 0, 1.5),
        ('nova-versioning-status (argument error)',
         status + ['--no-such-option'], 2, 1.5),
        ('nova-versioning-status pins (%d records, SQLite)' % ROWS,
         status + ['--config-file', config, 'pins'], 0, 2.5),
    ]


def _time(command, env, cwd):
    t0 = time.perf_counter()
    proc = subprocess.run(command, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, env=env, cwd=cwd,
                          timeout=TIMEOUT)
    return time.perf_counter() - t0, proc


def run(profile, backends, tmpdir):
    rounds = ROUNDS.get(profile.name, ROUNDS['quick'])
    figure = common.Figure(
        NAME, 'Console script start',
        'Wall time of each console script as a whole process (the '
        'installed script, a new interpreter each time, with its bytecode '
        'written), %d interleaved rounds after one round of warm-up; each '
        'round also times the '
        'bare process, and the ratio is the median of the ratios of each '
        'round. pins reads an SQLite database of %d service records.'
        % (rounds, ROWS),
        'A bare `python -c "import oslo_config.cfg, sqlalchemy"` in the '
        'same round.',
        '--help and argument errors <= 1.5x the bare process; pins '
        '<= 2.5x')
    workdir = os.path.join(tmpdir, 'startup')
    os.makedirs(workdir)
    config = _database(workdir)
    env = dict(os.environ, HOME=workdir)
    env.pop('NOVA_VERSIONING_SERVICE_BACKEND', None)
    # As an installed package starts: with its bytecode (pip writes it at
    # install time), which the round of warm-up writes for a source tree.
    # tox sets PYTHONDONTWRITEBYTECODE, which would have every run compile
    # the library's modules again.
    env.pop('PYTHONDONTWRITEBYTECODE', None)
    cases = _cases(config)
    variants = [('bare', BARE, 0)]
    variants += [(label, command, code)
                 for label, command, code, _target in cases]
    samples = {name: [] for name, _c, _e in variants}
    for rnd in range(rounds + 1):
        shift = rnd % len(variants)
        for name, command, code in variants[shift:] + variants[:shift]:
            seconds, proc = _time(command, env, workdir)
            if proc.returncode != code:
                raise RuntimeError('%s exited %d, expected %d: %s' % (
                    name, proc.returncode, code,
                    proc.stderr.decode(errors='replace')[-2000:]))
            if rnd:  # the first round warms up
                samples[name].append(seconds)
    bare = common.summarize(samples['bare'])
    for label, _command, _code, target in cases:
        ours = common.summarize(samples[label])
        ratio = statistics.median(
            o / b for o, b in zip(samples[label], samples['bare']))
        figure.add(case=label, unit='s', ours=ours['median'],
                   ours_p95=ours['p95'], baseline=bare['median'],
                   baseline_p95=bare['p95'], ratio=ratio,
                   ratio_text='x the bare process',
                   target='<= %gx' % target, met=ratio <= target,
                   samples_ours=samples[label],
                   samples_baseline=samples['bare'])
        common.progress('startup %s: %.3f s, bare %.3f s (%.2fx)', label,
                        ours['median'], bare['median'], ratio)
    return figure
