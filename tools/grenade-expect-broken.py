#!/usr/bin/env python3
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
"""Run a broken rolling-upgrade job and pass only if it failed as it must.

    grenade-expect-broken.py REPORT -- nova-versioning-grenade --mode nova \\
        --break overpinned --report REPORT ...

The job must exit 1 (not 2, a setup failure) and its report must show the
failure it was broken for (nova_versioning.grenade.novacheck.
broken_run_problems). Exits 0 then, 1 otherwise, with one line per reason.
"""

import json
import os
import subprocess
import sys

from nova_versioning.grenade import novacheck


def main(argv):
    if len(argv) < 3 or argv[1] != '--':
        sys.stderr.write('usage: grenade-expect-broken.py REPORT -- '
                         'COMMAND...\n')
        return 2
    report_path, command = argv[0], argv[2:]
    # A report left by an earlier run must not stand in for this one's.
    try:
        os.unlink(report_path)
    except FileNotFoundError:
        pass
    code = subprocess.call(command)
    problems = []
    if code != 1:
        problems.append('the job exited %d, not 1' % code)
    try:
        with open(report_path) as f:
            report = json.load(f)
    except (OSError, ValueError) as exc:
        problems.append('no report in %s: %s' % (report_path, exc))
    else:
        problems += novacheck.broken_run_problems(report)
    if problems:
        for problem in problems:
            sys.stderr.write('grenade-expect-broken: %s\n' % problem)
        return 1
    print('grenade-expect-broken: the broken job failed as it must')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
