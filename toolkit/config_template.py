"""The commented ``toolkit.toml`` that ``toolkit init`` writes."""

from __future__ import annotations

from toolkit.model import Unit

HEADER = """\
# toolkit.toml — settings of this reporting workspace (喀什地区新型城镇化行动方案 填报工作区).
# Every key is optional: delete a line and the bundled default applies.

[plan]
# Language of workbooks, messages and e-mail: "zh" (中文, default) or "en".
lang = "zh"
# A replacement task list (YAML, same format as templates/tasklist.yaml),
# relative to this folder. Empty: the bundled list transcribed from the plan.
tasklist = ""

# Reporting periods and their deadlines (催报 uses them). Periods are written
# 2024, 2024H1, 2024H2 or 2024Q1..2024Q4. Without an entry the deadline is
# ten days after the period ends.
[periods]
"2024H1" = {{ deadline = 2024-07-10 }}
"2024" = {{ deadline = 2025-01-10 }}
"2025H1" = {{ deadline = 2025-07-10 }}
"2025" = {{ deadline = 2026-01-10 }}

# Red / amber / green against expected progress (序时进度):
# completion / expected >= green -> green; >= amber -> amber; below -> red.
[thresholds]
green = 1.0
amber = 0.9
# Validation warnings: a value whose robust z-score against the other units
# exceeds robust_z, or that changed by more than `jump` (1.0 = 100%) against
# the unit's previous period.
robust_z = 3.5
jump = 1.0

[protection]
# Sheet-protection password for the templates. Empty: protected, no password.
password = ""

# Outgoing mail. Without a host, `toolkit mail` writes .eml files to
# outputs/<PERIOD>/outbox/ instead of sending.
[smtp]
host = ""
port = 587
security = "starttls"   # none, starttls or ssl
user = ""
# The NAME of an environment variable that holds the password — never the
# password itself.
password_env = "TOOLKIT_SMTP_PASSWORD"

[mail]
from = "urbanization-office@example.gov.cn"
summary_to = []          # leadership recipients of the consolidated workbook
max_attachment_mb = 10

# Reporting units: code, name and the contacts that receive templates,
# feedback and reminders. Codes are fixed; names and e-mails are yours to edit.
"""


def default_config_text(units: tuple[Unit, ...]) -> str:
    lines = [HEADER.format()]
    for unit in units:
        lines.append("[[units]]")
        lines.append(f'code = "{unit.code}"')
        lines.append(f'name = "{unit.name}"')
        emails = ", ".join(f'"{e}"' for e in unit.emails)
        lines.append(f"emails = [{emails}]")
        lines.append("")
    return "\n".join(lines)
