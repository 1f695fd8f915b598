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

The id of every failed test is printed after that line.  With
``STESTR_SUMMARY_FAILURES`` set to a file name, each failed test's id and the
end of its traceback are appended to that file too, so that a long run of
several tox environments (``.ci/run``) can print them once more at its very
end.
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


# Lines of each traceback kept for the failures file.
TRACEBACK_LINES = 40


def _traceback(test):
    """The end of a failed test's traceback (or of its other details)."""
    details = test.get('details') or {}
    names = [n for n in details if 'traceback' in n] or list(details)
    text = []
    for name in names:
        try:
            text.append(details[name].as_text())
        except Exception:  # noqa: BLE001 - an undecodable attachment
            continue
    lines = '\n'.join(text).splitlines()
    return '\n'.join(lines[-TRACEBACK_LINES:])


def _count(stream, failures=None):
    counts = {'passed': 0, 'failed': 0, 'skipped': 0}

    def on_test(test):
        status = test['status']
        if status in PASSED:
            counts['passed'] += 1
        elif status in SKIPPED:
            counts['skipped'] += 1
        else:
            counts['failed'] += 1
            if failures is not None:
                failures.append((test['id'], _traceback(test)))

    result = testtools.StreamToDict(on_test)
    case = subunit.ByteStreamToStreamResult(stream, non_subunit_name='stdout')
    result.startTestRun()
    try:
        case.run(result)
    finally:
        result.stopTestRun()
    return counts


def _record_failures(failures):
    path = os.environ.get('STESTR_SUMMARY_FAILURES')
    if not path or not failures:
        return
    env = os.environ.get('TOX_ENV_NAME', os.getcwd())
    with open(path, 'a') as f:
        for test_id, traceback in failures:
            f.write('=== %s: %s\n%s\n\n' % (env, test_id, traceback))


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
    failures = []
    if after > before:
        # The stestr of the interpreter running this script (the tox env's).
        last = subprocess.run(
            [sys.executable, '-m', 'stestr', 'last', '--subunit'],
            stdout=subprocess.PIPE)
        counts = _count(io.BytesIO(last.stdout), failures)
    else:
        print('stestr-summary: the command recorded no test run',
              file=sys.stderr)

    # Start on a fresh line: stestr may end its output without a newline.
    print()
    print('%(passed)d passed, %(failed)d failed, %(skipped)d skipped'
          % counts, flush=True)
    for test_id, _ in failures:
        print('FAILED: %s' % test_id, flush=True)
    _record_failures(failures)
    if sum(counts.values()) == 0:
        print('stestr-summary: no tests ran; failing', file=sys.stderr)
        return rc or 1
    if counts['failed'] and not rc:
        return 1
    return rc


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
