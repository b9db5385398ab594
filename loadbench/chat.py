"""Chat-like text for the benchmark's posts under `loadbench --rules`, so that the rules
read sentences, not a number.

The posts stay innocent, so that delivery with the rules is comparable with delivery
without: no phrase contains a term of loadbench.rules, one of its forms, or a link
(tests/loadbench checks each one against the matcher and the link rule). Several share
their first letters with terms ("scary" and "scam", "clip" and "clown"), so the matcher
walks into its trie as it would in a real chat instead of failing at the first letter.
Imported by the load generator's processes: no Django here.
"""

# Sentences a live chat is full of.
PHRASES = [
    "hello from Lisbon",
    "that was a great play",
    "what song is this?",
    "lol",
    "first time here, loving the stream",
    "can you turn the music down a bit",
    "gg well played",
    "how long have you been playing this game?",
    "nice shot!",
    "the audio is a little out of sync",
    "greetings from Brazil",
    "who is winning right now?",
    "this map looks amazing",
    "that boss fight was scary",
    "can't wait for the next episode",
    "where did you get that chair?",
    "my cat is watching with me",
    "clip that!",
    "the chat is so fast today",
    "what settings do you use?",
    "happy birthday to the mod team",
    "is there a schedule for this week?",
    "that combo was clean",
    "I missed the start, what happened?",
    "the camera angle is perfect",
    "sending good vibes from Tokyo",
    "how do you stay so calm",
    "best stream of the month",
    "do the left door first",
    "you should try the other route",
    "the soundtrack is so good",
    "wow that was close",
    "can we see the inventory?",
    "trust the process",
    "coffee break soon?",
    "that jump was insane",
    "good morning from Sydney",
    "please play the old level again",
    "the graphics are stunning tonight",
    "thanks for the tips yesterday",
]


def phrase(number: int) -> str:
    return PHRASES[number % len(PHRASES)]
