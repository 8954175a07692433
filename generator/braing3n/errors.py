"""Errors raised by BrainG3N: each message names the file or field and the problem."""

from __future__ import annotations

from generator.engine import GeneratorInputError

__all__ = ["BrainG3NError", "CheckpointError", "ConfigError", "DataError"]


class BrainG3NError(GeneratorInputError):
    """Base class of BrainG3N input errors (a ``ValueError``); CLIs turn it into exit code 2."""


class ConfigError(BrainG3NError):
    """A configuration that is unknown, malformed or inconsistent."""


class DataError(BrainG3NError):
    """A training/evaluation directory that is missing files or holds unusable volumes."""


class CheckpointError(BrainG3NError):
    """A checkpoint that is missing, corrupt, tampered with or does not match its config."""
