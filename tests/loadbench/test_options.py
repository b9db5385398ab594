"""loadbench's list options: parsed by argparse, a bad value named with its option."""

import pytest
from django.core.management import CommandError, call_command

from comments.management.commands.loadbench import Command


def parse(*args):
    return vars(Command().create_parser("manage.py", "loadbench").parse_args(args))


def test_lists_of_viewers_rates_and_pids_run_sweeps():
    options = parse("--viewers", "0,200, 400", "--rate", "0.5,20", "--gateway-pids", "41,42")

    assert options["viewers"] == [0, 200, 400]
    assert options["rate"] == [0.5, 20.0]
    assert options["gateway_pids"] == [41, 42]


@pytest.mark.parametrize(
    "option, value, wanted",
    [
        ("--viewers", "200,-1", "whole numbers, 0 or more"),
        ("--viewers", "200,1.5", "whole numbers, 0 or more"),
        ("--viewers", ",", "whole numbers, 0 or more"),
        ("--rate", "20,0", "numbers above 0"),
        ("--rate", "fast", "numbers above 0"),
        ("--gateway-pids", "0", "process ids"),
    ],
)
def test_it_rejects_a_bad_value_naming_its_option(option, value, wanted):
    expected = f"argument {option}: expected comma-separated {wanted}, got {value!r}"

    with pytest.raises(CommandError) as raised:
        call_command("loadbench", option, value)

    assert str(raised.value) == f"Error: {expected}"
