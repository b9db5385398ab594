"""The floor batches like ours: the same tiers, and the same comments kept under sampling."""

import pytest

from comments.batcher import DELIVERY_POLICY, comment_score
from loadbench import floor
from loadbench.gateways import floor_command


def comment(number: int, content: str = "hello", highlighted: bool = False) -> dict:
    return {"id": str(number), "content": content, "isHighlighted": highlighted}


@pytest.mark.parametrize(
    "c",
    [comment(1), comment(987654321987), comment(42, "why?"), comment(7, highlighted=True)],
)
def test_it_scores_a_comment_as_ours_does(c):
    assert floor.comment_score(c) == comment_score(c)


def test_it_is_launched_with_our_tiers():
    policy = floor.parse_policy(floor_command(8000)[-1])

    assert [(t.min_viewers, t.interval, t.delivered) for t in policy] == [
        (t.min_viewers, t.interval, t.delivered) for t in DELIVERY_POLICY
    ]


def test_it_picks_the_tier_of_its_joined_sockets():
    the_floor = floor.Floor(floor.parse_policy("0:0.1:1,1000:0.2:1,10000:0.5:0.5"))

    assert the_floor.tier(999).interval == 0.1
    assert the_floor.tier(2100).interval == 0.2
    assert the_floor.tier(10_050).delivered == 0.5


def test_it_rejects_a_policy_without_a_tier_at_zero_viewers():
    with pytest.raises(ValueError, match="0 viewers"):
        floor.parse_policy("1000:0.2:1")
