"""The named errors library code raises when it cannot go on.

Bad *data* in a submission is not an error: validation returns issues for it.
These are for what stops a command: a malformed task list, an unknown period,
an unreadable config. Every message says what to do about it.
"""


class ToolkitError(Exception):
    """Base of every error the toolkit raises on purpose."""


class TaskListError(ToolkitError):
    """The task list file is malformed; carries one or more located problems."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ConfigError(ToolkitError):
    """The workspace config (toolkit.toml) cannot be used as written."""


class PeriodError(ToolkitError):
    """A reporting period was written in a form the toolkit does not know."""


class UnitError(ToolkitError):
    """A reporting unit was named that the workspace does not have."""


class WorkbookError(ToolkitError):
    """A workbook the office supplied (not a submission) cannot be read as expected."""


class MailError(ToolkitError):
    """Mail could not be sent: server, login or recipients refused."""
