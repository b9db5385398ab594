"""`loadbench --rules`: 200 terms of every action and match mode, and posts none of them,
nor the link rule, would stop (so that delivery compares with a run without rules)."""

from collections import Counter

import pytest

from loadbench import chat, report, rules
from moderation.holding import LINK
from moderation.terms import Term, TermMatcher


def test_the_terms_are_200_distinct_words_a_quarter_of_each_kind():
    kinds = Counter(rules.KINDS[i % len(rules.KINDS)] for i in range(len(rules.TERMS)))

    assert len({t.lower() for t in rules.TERMS}) == len(rules.TERMS) == 200
    assert sorted(kinds.values()) == [50, 50, 50, 50]


@pytest.mark.parametrize("phrase", chat.PHRASES)
def test_no_post_trips_a_term_or_the_link_rule(phrase):
    matcher = TermMatcher(
        tuple(
            Term(i, term, *rules.KINDS[i % len(rules.KINDS)]) for i, term in enumerate(rules.TERMS)
        )
    )
    posted = f"lb:abcd1234:17:1764500000000000 {phrase}"

    assert matcher.find(posted) is None
    assert LINK.search(posted) is None


def test_rules_on_and_off_are_set_side_by_side_as_a_multiple():
    def run(rules_, cpu):
        return {
            "target": "ours",
            "scenario": {
                "viewers": 10,
                "rate": 5,
                "posters": 5,
                "duration": 3,
                "gateways": 1,
                "rules": rules_,
            },
            "gateway": {"cpu_percent_mean": cpu},
        }

    (comparison,) = report.comparisons([run("off", 40.0), run("on", 42.0)])

    assert comparison["against"] == "rules off"
    assert comparison["ratios"]["gateway.cpu_percent_mean"] == 1.05
