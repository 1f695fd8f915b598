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
"""Run a stestr command, then print ``N passed, N failed, N skipped``.

Usage: stestr-summary.py stestr run [ARGS...]

stestr's own output is left untouched.  Afterwards the subunit stream of
the run that the command just recorded (``stestr last --subunit``) is
counted and one plain line is printed:

    N passed, N failed, N skipped

passed = success + expected failure; failed = failure + unexpected success
+ tests that started but never finished (a crashed worker); skipped = skip.
The exit code is the command's, or 1 when no test ran (including when the
command recorded no new run at all, e.g. test discovery failed).
"""

import io
import os
import subprocess
import sys

import subunit
import testtools

PASSED = ('success', 'xfail')
SKIPPED = ('skip',)


def _next_run_id(repo):
    try:
        with open(os.path.join(repo, 'next-stream')) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 0


def _count(stream):
    counts = {'passed': 0, 'failed': 0, 'skipped': 0}

    def on_test(test):
        status = test['status']
        if status in PASSED:
            counts['passed'] += 1
        elif status in SKIPPED:
            counts['skipped'] += 1
        else:
            counts['failed'] += 1

    result = testtools.StreamToDict(on_test)
    case = subunit.ByteStreamToStreamResult(stream, non_subunit_name='stdout')
    result.startTestRun()
    try:
        case.run(result)
    finally:
        result.stopTestRun()
    return counts


def main(argv):
    if not argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    repo = os.environ.get('STESTR_REPO', '.stestr')
    before = _next_run_id(repo)
    sys.stdout.flush()
    rc = subprocess.call(argv)
    sys.stdout.flush()
    after = _next_run_id(repo)

    counts = {'passed': 0, 'failed': 0, 'skipped': 0}
    if after > before:
        # The stestr of the interpreter running this script (the tox env's).
        last = subprocess.run(
            [sys.executable, '-m', 'stestr', 'last', '--subunit'],
            stdout=subprocess.PIPE)
        counts = _count(io.BytesIO(last.stdout))
    else:
        print('stestr-summary: the command recorded no test run',
              file=sys.stderr)

    # Start on a fresh line: stestr may end its output without a newline.
    print()
    print('%(passed)d passed, %(failed)d failed, %(skipped)d skipped'
          % counts, flush=True)
    if sum(counts.values()) == 0:
        print('stestr-summary: no tests ran; failing', file=sys.stderr)
        return rc or 1
    if counts['failed'] and not rc:
        return 1
    return rc


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
