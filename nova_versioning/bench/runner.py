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
"""Command line: run the figures, write results.md and results.json.

Exit status 0 unless a figure raised an error: timings never fail a run,
and a figure whose server is unreachable is reported as skipped.
"""

import argparse
import collections
import importlib
import os
import shlex
import sys
import tempfile
import time
import traceback

from nova_versioning.bench import common
from nova_versioning.bench import machine
from nova_versioning.bench import report
from nova_versioning import objects

Profile = collections.namedtuple('Profile', [
    'name',
    # lookup
    'lookup_sizes', 'lookup_min_reps', 'lookup_max_reps', 'lookup_budget',
    # storm
    'storm_services', 'storm_heartbeats',
    # heartbeat
    'heartbeat_services', 'heartbeat_rounds',
    # send path
    'send_batch', 'send_reps',
    # reload
    'reload_reps',
])

PROFILES = {
    'full': Profile('full', lookup_sizes=(1000, 10000, 100000),
                    lookup_min_reps=30, lookup_max_reps=3000,
                    lookup_budget=3.0,
                    storm_services=1000, storm_heartbeats=3,
                    heartbeat_services=50, heartbeat_rounds=10,
                    send_batch=200, send_reps=60,
                    reload_reps=5),
    'quick': Profile('quick', lookup_sizes=(1000, 10000),
                     lookup_min_reps=15, lookup_max_reps=500,
                     lookup_budget=0.8,
                     storm_services=200, storm_heartbeats=1,
                     heartbeat_services=20, heartbeat_rounds=4,
                     send_batch=100, send_reps=10,
                     reload_reps=2),
    # In-process, seconds: what the unit test runs.
    'tiny': Profile('tiny', lookup_sizes=(200,),
                    lookup_min_reps=3, lookup_max_reps=5,
                    lookup_budget=0.05,
                    storm_services=10, storm_heartbeats=1,
                    heartbeat_services=3, heartbeat_rounds=2,
                    send_batch=10, send_reps=2,
                    reload_reps=1),
}


FIGURE_NAMES = ('lookup', 'storm', 'heartbeat', 'sendpath', 'reload',
                'objects', 'startup')
# Figures that need real Nova as their baseline (tox -e bench-nova).
FIGURE_NAMES += ('allcells',)


def run(profile, only=None, backends=common.BACKENDS, output_dir=None,
        command=None, probe_broker=True):
    """Run the figures; write and return the results (a dict).

    :param probe_broker: include RabbitMQ's version in the machine
        description (asks rabbitmqctl).
    """
    objects.register_all()
    names = list(only) if only else list(FIGURE_NAMES)
    started = time.monotonic()
    results = {'mode': profile.name, 'command': command or 'python -m '
               'nova_versioning.bench',
               'machine': machine.describe(probe_broker=probe_broker),
               'figures': [], 'backends': list(backends),
               'columns': list(report.ROW_KEYS)}
    with tempfile.TemporaryDirectory(prefix='nvbench-') as tmpdir:
        for name in names:
            # Imported on use: each figure pulls in part of the library.
            module = importlib.import_module('nova_versioning.bench.' + name)
            common.progress('%s: starting', name)
            t0 = time.monotonic()
            try:
                figure = module.run(profile, backends, tmpdir)
            except Exception as exc:
                figure = common.Figure(name, name, '', '', '')
                figure.errors.append('%s: %s' % (type(exc).__name__, exc))
                traceback.print_exc()
            figure.seconds = round(time.monotonic() - t0, 1)
            common.progress('%s: done in %.0f s', name, figure.seconds)
            results['figures'].append(figure.to_dict())
            servers = figure.details.get('servers', {})
            results['machine'].setdefault('servers', {}).update(servers)
    results['seconds'] = round(time.monotonic() - started, 1)
    if output_dir:
        paths = report.write(results, output_dir)
        common.progress('wrote %s and %s', *paths)
    return results


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog='python -m nova_versioning.bench',
        description='Benchmarks of nova_versioning against the baseline '
                    'it replaces, measured side by side in one run. '
                    'Writes results.md and results.json.')
    parser.add_argument('--quick', action='store_const', const='quick',
                        dest='profile', help='a shorter run (under two '
                        'minutes): smaller tables and fewer repetitions')
    parser.add_argument('--profile', choices=sorted(PROFILES),
                        default='full', help=argparse.SUPPRESS)
    parser.add_argument('--output-dir', default=os.path.join('doc', 'bench'),
                        help='where results.md and results.json go '
                             '(default: doc/bench)')
    parser.add_argument('--only', nargs='+', choices=FIGURE_NAMES,
                        metavar='NAME', help='run only these figures: %s'
                        % ', '.join(FIGURE_NAMES))
    parser.add_argument('--backends', nargs='+', choices=common.BACKENDS,
                        default=list(common.BACKENDS),
                        help='databases of the lookup and heartbeat '
                             'figures (default: all three)')
    parser.set_defaults(profile='full')
    return parser.parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    command = ' '.join(['python -m nova_versioning.bench'] +
                       [shlex.quote(a) for a in argv])
    results = run(PROFILES[args.profile], only=args.only,
                  backends=args.backends, output_dir=args.output_dir,
                  command=command)
    errors = [(f['name'], e) for f in results['figures']
              for e in f['errors']]
    for name, error in errors:
        sys.stderr.write('%s: error: %s\n' % (name, error))
    return 1 if errors else 0
