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
"""What the grenade-nova job reads and compares: plain functions.

* Nova's own log lines: the compute RPC version cap a Nova process chose
  (``Automatically selected compute RPC version X from minimum service
  version N``), the image pre-cache requests the conductor made and
  completed, the RPC errors a compute logged;
* this project's prediction, from ``nova-versioning-status pins --format
  json`` (and its what-if), and from ``upgrade check --json``;
* the comparison of the two, and the job's table.

Nothing here needs Nova or a server: the unit tests feed it text.
"""

import re

from nova_versioning.cmd import common as cmd_common

AUTO_LINE = re.compile(
    r'Automatically selected compute RPC version (?P<cap>\d+\.\d+) '
    r'from minimum service version (?P<minimum>\d+)')
PREPARING = re.compile(
    r'Preparing to request pre-caching of image\(s\) (?P<images>\S+) on '
    r'(?P<hosts>\d+) hosts')
COMPLETED = re.compile(
    r'Image pre-cache operation for image\(s\) (?P<images>\S+) completed '
    r'in [\d.]+ seconds; (?P<cached>\d+) cached, (?P<existing>\d+) '
    r'existing, (?P<error>\d+) errors, (?P<unsupported>\d+) unsupported, '
    r'(?P<skipped>\d+) skipped')
# What a compute logs when it takes a pre-cache call of the conductor.
CACHING = re.compile(r'Caching \d+ image\(s\) by request')
# What a compute's RPC server logs for a message it cannot dispatch.
REJECTED = re.compile(r'UnsupportedVersion|Endpoint does not support RPC '
                      r'version')

NOVA_OLD_COMPUTES = 'Older than N-1 computes'
OURS_OLD_COMPUTES = 'Computes older than the oldest supported release'
OURS_PINS = 'RPC version pins'

# oslo.upgradecheck's codes.
VERDICTS = {0: 'Success', 1: 'Warning', 2: 'Failure'}


def auto_selections(text):
    """[(cap, minimum service version)] of every audit line, in order."""
    return [(m.group('cap'), int(m.group('minimum')))
            for m in AUTO_LINE.finditer(text)]


def last_cap(text, default=None):
    """The cap of the last audit line in text, else default."""
    found = auto_selections(text)
    return found[-1][0] if found else default


def image_requests(text, images):
    """The conductor's pre-cache requests for ``images``, from its log.

    :returns: {image: {'hosts': N or None, 'handled': N or None,
        'error': N, 'skipped': N, 'completed': bool}}; handled counts the
        hosts that answered (cached, existing or unsupported).
    """
    wanted = set(images)
    result = {image: {'hosts': None, 'handled': None, 'error': 0,
                      'skipped': 0, 'completed': False}
              for image in images}
    for match in PREPARING.finditer(text):
        for image in match.group('images').split(','):
            if image in wanted:
                result[image]['hosts'] = int(match.group('hosts'))
    for match in COMPLETED.finditer(text):
        for image in match.group('images').split(','):
            if image in wanted:
                entry = result[image]
                entry['completed'] = True
                entry['handled'] = sum(int(match.group(k)) for k in (
                    'cached', 'existing', 'unsupported'))
                entry['error'] = int(match.group('error'))
                entry['skipped'] = int(match.group('skipped'))
    return result


def count_casts(requests, hosts):
    """Messages of the pre-cache casts: one per (image, host).

    ``hosts``: how many hosts each cast named. A host the conductor
    skipped as down, or whose call failed, was not handled: lost (the
    rejected ones are counted from the computes' logs, see
    :func:`settle`).

    :returns: {'sent', 'handled', 'errors', 'skipped', 'unanswered',
        'incomplete'}: skipped counts the hosts the conductor found down;
        unanswered, the hosts of a completed cast it names in none of its
        counts (its call to them raised, a timeout or a refusal, which
        Nova does not log); incomplete, the casts whose completion was not
        logged in time.
    """
    sent = handled = errors = skipped = unanswered = incomplete = 0
    for entry in requests.values():
        sent += hosts
        if not entry['completed']:
            incomplete += 1
            continue
        handled += entry['handled']
        errors += entry['error']
        skipped += entry['skipped']
        unanswered += max(hosts - entry['handled'] - entry['error'] -
                          entry['skipped'], 0)
    return {'sent': sent, 'handled': handled, 'errors': errors,
            'skipped': skipped, 'unanswered': unanswered,
            'incomplete': incomplete}


# The date, time and pid that begin each line of a Nova log.
PREFIX = re.compile(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \d+ ')
# Warnings Nova logs at every burst of this job, which explain nothing: the
# fake driver caches no image, and the conductor queues its pre-cache calls
# (one at a time, [image_cache]/precache_concurrency).
ROUTINE = re.compile(r'Virt driver does not support image pre-caching|'
                     r'cache_images pool does not have free threads')
# What explains a lost or rejected message in a Nova service's log.
NOTEWORTHY = re.compile(r' (ERROR|WARNING|CRITICAL) |Skipping image pre-cache '
                        r'request|Seems service \S+ on host \S+ is down|'
                        r'Traceback|MessagingTimeout')


def cache_requests(text):
    """How many pre-cache calls a compute's log says it took."""
    return len(CACHING.findall(text))


def noteworthy(text, limit=8):
    """The log lines that may explain a lost or rejected message.

    At most ``limit``, the last ones, each without the date and pid
    prefix Nova gives every line.
    """
    found = []
    for line in text.splitlines():
        if NOTEWORTHY.search(line) and not ROUTINE.search(line):
            line = PREFIX.sub('', line.strip())
            found.append(line if len(line) <= 300 else line[:297] + '...')
    return found[-limit:]


def rejections(text):
    """How many messages a compute's log says it could not dispatch."""
    return len(REJECTED.findall(text))


def settle(casts, calls, rejected_in_logs):
    """The message totals of one burst.

    :param casts: :func:`count_casts` of the burst.
    :param calls: the API side's own counts of its calls ({'sent',
        'handled', 'rejected', 'lost'}).
    :param rejected_in_logs: messages the computes' logs rejected.
    :returns: {'sent', 'handled', 'rejected', 'lost'}; never a negative
        lost: what was neither handled nor rejected is lost.
    """
    sent = casts['sent'] + calls['sent']
    handled = casts['handled'] + calls['handled']
    rejected = max(calls['rejected'], rejected_in_logs) + casts['errors']
    lost = max(sent - handled - rejected, 0)
    return {'sent': sent, 'handled': handled, 'rejected': rejected,
            'lost': lost}


# -- the project's prediction ------------------------------------------------

def _compute_api(report):
    for api in report.get('apis', ()):
        if api.get('api') == 'compute':
            return api
    raise ValueError('the pins report has no compute API')


def prediction(report, what_if=None):
    """The prediction of a stage, from ``pins --format json`` reports.

    :param report: the pins report of the fleet as it is.
    :param what_if: the report with ``--assume-upgraded`` of the next step,
        or None.
    :returns: {'configured', 'cap' (what a service resolving now sends at),
        'source', 'auto_cap', 'minimum', 'held_by' (hosts at the minimum
        while auto is below the latest), 'latest', 'history_source',
        'what_if': {'upgraded': [...], 'cap': X.Y} or None}.
    """
    api = _compute_api(report)
    held = []
    if api.get('auto_cap') != api.get('latest_cap'):
        held = sorted(host['host'] for host in api.get('at_minimum', ()))
    result = {
        'configured': api.get('configured'),
        'cap': api.get('cap'),
        'source': api.get('source'),
        'auto_cap': api.get('auto_cap'),
        'minimum': api.get('minimum_version'),
        'held_by': held,
        'latest': api.get('latest_cap'),
        'error': api.get('error'),
        'warning': api.get('warning'),
        'history_source': report.get('history_source'),
        'what_if': None,
    }
    if what_if is not None:
        other = _compute_api(what_if)
        result['what_if'] = {
            'upgraded': list(what_if.get('what_if', {}).get('upgraded', ())),
            'cap': other.get('cap'),
            'auto_cap': other.get('auto_cap')}
    return result


def compare_cap(predicted, logged, who):
    """Problems (list of text) when the logged cap is not the predicted."""
    if logged is None:
        return ['%s logged no "Automatically selected compute RPC version" '
                'line (predicted %s)' % (who, predicted)]
    if logged != predicted:
        return ['%s selected compute RPC version %s, the project predicted '
                '%s' % (who, logged, predicted)]
    return []


# -- upgrade checks ----------------------------------------------------------

def check_verdict(output, name):
    """(verdict, details) of check ``name`` in ``upgrade check --json``.

    :param output: the JSON document (parsed), or its text. Anything
        printed before the document (warnings) is skipped.
    :raises ValueError: no such check, or no JSON document.
    """
    if isinstance(output, str):
        output = _json_document(output)
    for check in output.get('checks', ()):
        if check.get('check') == name:
            code = check.get('result')
            return VERDICTS.get(code, str(code)), check.get('details')
    raise ValueError('no check %r in the upgrade check output' % name)


def table_verdict(text, name):
    """(verdict, details) of check ``name`` in upgrade check's table.

    The table oslo.upgradecheck prints (``nova-status upgrade check`` has
    no ``--json``)::

        | Check: Older than N-1 computes |
        | Result: Failure                |
        | Details: Current Nova version  |
        |   does not support ...         |
        +--------------------------------+

    :raises ValueError: no such check in the table.
    """
    lines = [line.strip().strip('|').strip() for line in text.splitlines()]
    for index, line in enumerate(lines):
        if line != 'Check: %s' % name:
            continue
        verdict = None
        details = []
        for other in lines[index + 1:]:
            if other.startswith('+') or other.startswith('Check: '):
                break
            if other.startswith('Result: ') and verdict is None:
                verdict = other[len('Result: '):].strip()
            elif other.startswith('Details: '):
                details.append(other[len('Details: '):].strip())
            elif details and other:
                details.append(other)
        if verdict is None:
            break
        text = ' '.join(details)
        return verdict, (None if text in ('', 'None') else text)
    raise ValueError('no check %r in the upgrade check output' % name)


def _json_document(text):
    import json
    start = text.find('{')
    if start < 0:
        raise ValueError('no JSON document in the upgrade check output')
    return json.JSONDecoder().raw_decode(text[start:])[0]


def compare_verdicts(ours, nova):
    """Problems when the two upgrade checks disagree."""
    if ours != nova:
        return ['the project\'s upgrade check says %s on computes older '
                'than N-1, Nova\'s nova-status says %s' % (ours, nova)]
    return []


# -- a broken run ------------------------------------------------------------

def broken_run_problems(report):
    """Why a broken run did not fail as it must; [] when it did.

    A run with ``--break overpinned`` (or ``unpinned``) must run every
    stage to its end and fail on the messages: in stage 2 (the new control
    plane, old computes) calls an old compute cannot take are lost
    (``MessagingTimeout``) or rejected; and the project's "RPC version
    pins" check must have warned before it happened.
    """
    problems = []
    if report.get('ok'):
        problems.append('the job passed')
    error = report.get('error')
    if error:
        problems.append('stage %s (%s) did not finish: %s'
                        % (error['stage'], error['name'], error['error']))
    stages = {stage['stage']: stage for stage in report.get('stages', ())}
    stage = stages.get(2)
    if stage is None:
        problems.append('no stage 2 in the report')
        return problems
    if not (stage.get('lost') or stage.get('rejected')):
        problems.append('stage 2 lost and rejected nothing')
    check = stage.get('upgrade_check') or {}
    if check.get('pins') != 'Warning':
        problems.append('the project\'s RPC version pins check said %s in '
                        'stage 2, not Warning' % check.get('pins'))
    return problems


# -- the table ---------------------------------------------------------------

COLUMNS = ('Stage', 'What', 'Control', 'Computes', 'Predicted cap',
           'Nova logged', 'Check ours/Nova', 'Sent', 'Handled', 'Rejected',
           'Lost', 'Result')


def format_table(report):
    """The job's report as a plain-text table, then the details."""
    rows = []
    for stage in report.get('stages', ()):
        computes = sorted(set((stage.get('computes') or {}).values()))
        check = stage.get('upgrade_check') or {}
        rows.append((
            str(stage['stage']), stage['name'],
            stage.get('controllers') or '-', '/'.join(computes) or '-',
            str(stage.get('expected_pin') or '-'),
            str((stage.get('pins') or {}).get('conductor') or '-'),
            '%s/%s' % (check.get('ours', '-'), check.get('nova', '-')),
            str(stage.get('sent', 0)), str(stage.get('answered', 0)),
            str(stage.get('rejected', 0)), str(stage.get('lost', 0)),
            'ok' if stage.get('ok') else 'FAIL'))
    lines = cmd_common.format_table(COLUMNS, rows)
    details = []
    for stage in report.get('stages', ()):
        prediction_ = stage.get('prediction') or {}
        what_if = prediction_.get('what_if')
        details.append(
            'Stage %s: predicted %s (auto %s from minimum %s, held by %s)%s'
            % (stage['stage'], stage.get('expected_pin'),
               prediction_.get('auto_cap'), prediction_.get('minimum'),
               ', '.join(prediction_.get('held_by') or ()) or 'nobody',
               '; what-if %s upgraded: %s' % (
                   ', '.join(what_if['upgraded']), what_if['cap'])
               if what_if else ''))
        for line in stage.get('nova_logged') or ():
            details.append('  Nova logged: %s' % line.split('] ', 1)[-1])
        check = stage.get('upgrade_check') or {}
        if check.get('pins') not in (None, 'Success'):
            details.append('  The project\'s RPC version pins check: %s: %s'
                           % (check['pins'], check.get('pins_details')))
        if stage.get('errors'):
            details.append('  RPC errors: %s' % ', '.join(
                '%s %d' % item for item in sorted(stage['errors'].items())))
        if stage.get('refusal'):
            details.append('  Nova refused: %s' % stage['refusal'])
        for problem in stage.get('problems') or ():
            details.append('  PROBLEM: %s' % problem)
        if stage.get('ok'):
            continue
        casts = stage.get('casts')
        if casts:
            details.append(
                '  Pre-cache casts: %d messages, %d handled, %d errors, %d '
                'to hosts the conductor found down, %d whose call from the '
                'conductor got no answer, %d casts not completed in time'
                % (casts['sent'], casts['handled'], casts['errors'],
                   casts.get('skipped', 0), casts.get('unanswered', 0),
                   casts['incomplete']))
            taken = casts.get('taken')
            if taken:
                details.append('  Pre-cache calls the computes logged taking: '
                               '%s' % ', '.join('%s %d' % item for item in
                                                sorted(taken.items())))
        for name, lines in sorted((stage.get('log') or {}).items()):
            for line in lines:
                details.append('  %s log: %s' % (name, line))
    error = report.get('error')
    if error:
        details.append('Stage %s (%s) did not finish: %s'
                       % (error['stage'], error['name'], error['error']))
    lines.append('')
    lines.extend(details)
    releases = report.get('releases') or {}
    lines.append('')
    lines.append('%s (%s -> %s)' % (
        'PASSED: every cap as predicted, the upgrade checks agree, no '
        'message rejected or lost' if report.get('ok') else 'FAILED',
        releases.get('old', '?'), releases.get('new', '?')))
    return '\n'.join(lines)
