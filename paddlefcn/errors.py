"""The error type for user mistakes: one line naming the culprit."""

from __future__ import annotations


class PaddleFCNError(Exception):
    """A bad config, path, name or input supplied by the user.

    Tools catch it, print its single-line message and exit with status 2.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class ConfigError(PaddleFCNError):
    """A missing, unknown or bad value in a config; tools that read one put the config file first in the message."""

    def naming(self, config: object) -> ConfigError:
        """This error with ``config`` first in its message, unless the message names it already."""
        return self if str(config) in str(self) else ConfigError(f"{config}: {self}")
