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
"""The rolling-upgrade job's report as an SVG timeline.

One column per stage, left to right: the releases running, the RPC
version cap of each API the job pins, as each of its senders sends it
(compute: the API and the conductor; conductor: the API; scheduler: the
conductor), with every change marked ``old -> new``, and the messages of
the stage as a bar of answered, rejected and lost, with the number
sent. Plain SVG 1.1 with no
script or external resource: any browser shows it.
"""

from xml.sax import saxutils

COLUMN = 190
LEFT = 170
TOP = 70
ROW_CAP = 34
BAR_HEIGHT = 120

COLOURS = {
    'answered': '#4caf50',
    'rejected': '#ff9800',
    'lost': '#e53935',
}

# The recorded caps of a stage, in the report's keys: the RPC API, then
# who sends. A report without a row's cap in any stage has no such row.
CAP_ROWS = (
    ('compute', 'api', 'compute cap (API)'),
    ('compute', 'conductor', 'compute cap (conductor)'),
    ('conductor', 'api', 'conductor cap (API)'),
    ('scheduler', 'conductor', 'scheduler cap (conductor)'),
)


def stage_caps(stage):
    """{RPC API: {sender: cap}} of a stage of the report.

    A report of the job with real Nova pins compute only: its ``pins``
    are the compute caps.
    """
    caps = stage.get('caps')
    if caps is None:
        caps = {'compute': stage.get('pins') or {}}
    return caps


def cell_title(number, label, text):
    """The tooltip of a cap's cell: which stage, API and sender."""
    return 'Stage %s, %s: %s' % (number, label, text)


def cap_rows(report):
    """[(api, sender, label)] of the caps the report records."""
    stages = report.get('stages', ())
    return [row for row in CAP_ROWS
            if any(row[1] in stage_caps(stage).get(row[0], {})
                   for stage in stages)]


def _text(x, y, text, size=12, anchor='start', weight='normal',
          fill='#222', title=None):
    body = saxutils.escape(str(text))
    if title:
        body += '<title>%s</title>' % saxutils.escape(str(title))
    return ('<text x="%d" y="%d" font-size="%d" text-anchor="%s" '
            'font-weight="%s" fill="%s">%s</text>'
            % (x, y, size, anchor, weight, fill, body))


def _shorten(text, limit=28):
    text = str(text)
    return text if len(text) <= limit else text[:limit - 1] + '\u2026'


def cap_changes(report):
    """[(stage number, api, sender, old cap, new cap)] between stages."""
    changes = []
    previous = {}
    rows = cap_rows(report)
    for stage in report.get('stages', ()):
        caps = stage_caps(stage)
        for api, sender, _label in rows:
            key = (api, sender)
            cap = caps.get(api, {}).get(sender)
            if key in previous and cap != previous[key]:
                changes.append((stage['stage'], api, sender, previous[key],
                                cap))
            previous[key] = cap
    return changes


def render(report):
    """The SVG document (text) of a rolling-upgrade report."""
    stages = list(report.get('stages', ()))
    width = LEFT + COLUMN * max(len(stages), 1) + 20
    rows = cap_rows(report)
    pins_top = TOP + 60
    bars_top = pins_top + ROW_CAP * len(rows) + 40
    height = bars_top + BAR_HEIGHT + 90
    releases = report.get('releases') or {}
    title = 'Rolling upgrade %s -> %s: %s' % (
        releases.get('old', '?') if isinstance(releases, dict) else '?',
        releases.get('new', '?') if isinstance(releases, dict) else '?',
        'passed' if report.get('ok') else 'FAILED')
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" '
        'width="%d" height="%d" viewBox="0 0 %d %d" '
        'font-family="sans-serif">' % (width, height, width, height),
        '<title>%s</title>' % saxutils.escape(title),
        '<rect x="0" y="0" width="%d" height="%d" fill="white"/>'
        % (width, height),
        _text(10, 24, title, size=16, weight='bold'),
        _text(10, pins_top - 14, 'RPC version caps', weight='bold'),
        _text(10, bars_top - 14, 'Messages', weight='bold'),
    ]
    for row, (_api, _sender, label) in enumerate(rows):
        parts.append(_text(10, pins_top + row * ROW_CAP + 16, label))
    most = max([stage.get('sent', 0) for stage in stages] + [1])
    changed = {(stage, api, sender): (old, new)
               for stage, api, sender, old, new in cap_changes(report)}
    for index, stage in enumerate(stages):
        x = LEFT + index * COLUMN
        number = stage.get('stage', index + 1)
        name = stage.get('name', '')
        parts.append('<g id="stage-%s">' % saxutils.escape(str(number)))
        parts.append('<rect x="%d" y="%d" width="%d" height="%d" '
                     'fill="%s" stroke="#ccc"/>'
                     % (x, TOP - 20, COLUMN - 10, height - TOP - 10,
                        '#f7f7f7' if stage.get('ok') else '#fdecea'))
        parts.append(_text(x + 6, TOP - 4, 'Stage %s' % number,
                           weight='bold'))
        parts.append(_text(x + 6, TOP + 12, _shorten(name), size=11,
                           title=name))
        computes = sorted(set((stage.get('computes') or {}).values()))
        parts.append(_text(x + 6, TOP + 28, 'controllers %s' % (
            stage.get('controllers') or '-'), size=10, fill='#555'))
        parts.append(_text(x + 6, TOP + 41, 'computes %s' % (
            '/'.join(computes) or '-'), size=10, fill='#555'))
        caps = stage_caps(stage)
        for row, (api, sender, label) in enumerate(rows):
            y = pins_top + row * ROW_CAP
            cap = caps.get(api, {}).get(sender)
            change = changed.get((number, api, sender))
            text = ('%s \u2192 %s' % change if change else cap or '-')
            parts.append('<rect x="%d" y="%d" width="%d" height="24" '
                         'rx="4" fill="%s"/>'
                         % (x + 4, y, COLUMN - 18,
                            '#bbdefb' if change else '#e3f2fd'))
            parts.append(_text(x + COLUMN // 2 - 5, y + 17, text,
                               anchor='middle',
                               weight='bold' if change else 'normal',
                               title=cell_title(number, label, text)))
        sent = stage.get('sent', 0)
        parts.append(_text(x + 6, bars_top, 'sent %d' % sent, size=11))
        y = bars_top + 8
        bar_width = 50
        full = BAR_HEIGHT * sent / most
        bottom = y + BAR_HEIGHT
        for kind in ('answered', 'rejected', 'lost'):
            count = stage.get(kind, 0)
            h = full * count / sent if sent else 0
            bottom -= h
            if h:
                parts.append('<rect x="%d" y="%.1f" width="%d" height="%.1f" '
                             'fill="%s"><title>%s %d</title></rect>'
                             % (x + 10, bottom, bar_width, h,
                                COLOURS[kind], kind, count))
        for row, kind in enumerate(('answered', 'rejected', 'lost')):
            parts.append(_text(x + 70, y + 14 + row * 16, '%s %d' % (
                kind, stage.get(kind, 0)), size=11, fill=COLOURS[kind]
                if stage.get(kind, 0) and kind != 'answered' else '#222'))
        result = 'ok' if stage.get('ok') else 'FAIL'
        parts.append(_text(x + 6, bars_top + BAR_HEIGHT + 30, result,
                           weight='bold',
                           fill='#2e7d32' if stage.get('ok') else '#c62828',
                           title='; '.join(stage.get('problems') or ())
                           or None))
        parts.append('</g>')
    legend_y = height - 18
    for index, kind in enumerate(('answered', 'rejected', 'lost')):
        x = 10 + index * 110
        parts.append('<rect x="%d" y="%d" width="12" height="12" fill="%s"/>'
                     % (x, legend_y - 11, COLOURS[kind]))
        parts.append(_text(x + 18, legend_y, kind, size=11))
    parts.append('</svg>')
    return '\n'.join(parts) + '\n'


def write(report, path):
    """Write the timeline of ``report`` to ``path``."""
    with open(path, 'w', encoding='utf-8') as out:
        out.write(render(report))
    return path


def path_for(report_path):
    """The SVG's path: the JSON report's, with .svg."""
    base = report_path[:-5] if report_path.endswith('.json') else report_path
    return base + '.svg'
