"""Command-line arguments the benchmark commands share."""

from argparse import ArgumentTypeError
from collections.abc import Callable
from typing import TypeVar

N = TypeVar("N", int, float)


def comma_separated(
    convert: Callable[[str], N], accepts: Callable[[N], bool], wanted: str
) -> Callable[[str], list[N]]:
    """Make the argparse type of a comma-separated list of `wanted`: `convert`, then `accepts`.

    A bad list raises ArgumentTypeError, which argparse reports under the option's name
    ("argument --rate: expected comma-separated numbers above 0, got '0'"), and
    call_command as a CommandError.
    """

    def parse(text: str) -> list[N]:
        try:
            values = [convert(part) for part in text.split(",") if part.strip()]
        except ValueError:
            values = []
        if not values or not all(accepts(value) for value in values):
            raise ArgumentTypeError(f"expected comma-separated {wanted}, got {text!r}")
        return values

    return parse
