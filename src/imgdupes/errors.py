"""Errors shared by every stage; this module imports nothing of the package.

Living at the bottom of the import graph, it lets any stage raise a usage
error without importing the configuration (which imports the stages' option
types) and so closing an import cycle.
"""

from __future__ import annotations


class ImgdupesError(Exception):
    """Base of the errors imgdupes reports as one line."""


class ConfigError(ImgdupesError, ValueError):
    """A usage error; the message is the one line shown before exiting with status 2."""
