"""Errors shared by every stage; this module imports nothing of the package.

Living at the bottom of the import graph, it lets any stage raise its error
without importing the configuration (which imports the stages' option
types) and so closing an import cycle.

Two kinds: a :class:`ConfigError` is a usage error (options that cannot go
together, a value out of range), found before any work; a :class:`RunError`
is a condition met while running (a folder that is not there, a file that
cannot be written, another run holding a lock) and names the path.  Both
are shown as one line, no traceback, and exit with status 2, as they did
when every one of them was a ConfigError.

A message names an option with :func:`opt`: the library shows it as the
parameter name (``move_to``), the command line as its flag (``--move-to``),
see :func:`render`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

EXIT_USAGE = 2

# NUL cannot occur in a path nor in an OS error text: a safe marker around an
# option's name inside a message that also quotes user paths.
_MARK = "\0"
_OPT = re.compile("\0([a-z_]+)([\x01\x02]?)\0")
_STYLE = {"": "long", "\x01": "both", "\x02": "short"}

# flag_of(name, style) -> how a message shows the option; style is "long"
# (--delete), "both" (-d/--delete) or "short" (-d)
FlagOf = Callable[[str, str], str]


def opt(name: str, style: str = "long") -> str:
    """The option ``name`` (a field of an options object) inside a message.

    ``style`` says which of its flags the command line shows: ``long``
    (``--delete``), ``both`` (``-d/--delete``) or ``short`` (``-d``).
    """
    mark = {"long": "", "both": "\x01", "short": "\x02"}[style]
    return f"{_MARK}{name}{mark}{_MARK}"


def _name(name: str, style: str) -> str:
    return name


def render(text: str, flag_of: FlagOf = _name) -> str:
    """``text`` with each :func:`opt` mark shown as ``flag_of(name, style)``
    (default: the parameter name)."""
    return _OPT.sub(lambda m: flag_of(m.group(1), _STYLE[m.group(2)]), text)


class ImgdupesError(Exception):
    """Base of the errors imgdupes reports as one line."""

    exit_status = EXIT_USAGE

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.template = message
        self.path = path

    @property
    def options(self) -> list[str]:
        """The options the message names (parameter names)."""
        return [m.group(1) for m in _OPT.finditer(self.template)]

    def render(self, flag_of: FlagOf = _name) -> str:
        return render(self.template, flag_of)

    def __str__(self) -> str:
        return self.render()


class ConfigError(ImgdupesError, ValueError):
    """A usage error; the message is the one line shown before exiting with status 2."""


class RunError(ImgdupesError):
    """A condition met while running, about ``path``; one line, exit status 2."""


class InputError(RunError):
    """An input cannot be read: a target, a --files-from list, the --query image,
    a --reference folder, a hash table or a report."""


class OutputError(RunError):
    """An output cannot be written, or would overwrite an input."""


class ActError(RunError):
    """The delete/move/trash stage cannot act: a missing library, an unusable
    --move-to folder, a lock another run holds."""
