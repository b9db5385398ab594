"""The blocked terms of `loadbench --rules` (issue 13): 200 of the kinds moderators keep,
with a mix of actions and match modes. The runner also holds links on the stream, and the
posts carry a line of chat (loadbench.chat) that none of these terms matches."""

from django.db import transaction

from moderation import services
from moderation.models import BlockedTerm, ModerationAction
from moderation.terms import FORMS, HOLD, REJECT, WORD

# Spam and scams, insults, harassment, adult, spoilers and politics: 200 terms.
WORDS = """
airdrop altcoin bitcoin blockchain casino cashapp coinbase crypto dogecoin ethereum forex
freebies giftcard giveaway jackpot lottery memecoin metamask nft onlyfans paypal pyramid
referral robux scam seedphrase slots sportsbet staking telegram vbucks venmo whatsapp
promocode coupon cashback sugardaddy investor sub4sub follow4follow viewbot botting
boosting smurf aimbot wallhack exploit modmenu keygen torrent pirated freecam spambot
clickbait dropshipping forexsignals binaryoptions nudes
idiot moron loser clown trash noob dumb stupid imbecile dimwit dork jerk creep weirdo
pathetic worthless garbage braindead cringe toxic simp incel karen boomer snowflake troll
hater scrub bozo buffoon numbskull nitwit halfwit dunce twit muppet pillock plonker
tosser prat berk goblin sellout fraud liar shill ggez uninstall kys cope seethe mald
ugly fatso retard cretin scumbag lowlife deadbeat crybaby hypocrite
doxx dox swatting leakedpics nsfw porn xxx hentai lewd thirsty hottie creepshot upskirt
stalker stalking harass grooming predator pervert onlytease camgirl escort hookup
spoiler plottwist datamine leaked finale rosebud snape redwedding endgame cliffhanger
walkthrough speedrunleak unboxingleak patchleak
election trump biden brexit maga antifa communism fascist nazi propaganda conspiracy
flatearth vaccine chemtrails qanon globalist deepstate illuminati reptilian
cult jihad extremist militia genocide riot looting terrorist bomb shooting
hitman hacker phishing malware ransomware keylogger botnet ddos
swastika slur bigot racist sexist homophobe transphobe
"""
TERMS = WORDS.split()

# A quarter of each kind: refused as a word, refused in all its forms, held in all its
# forms, held as a word.
KINDS = [(REJECT, WORD), (REJECT, FORMS), (HOLD, FORMS), (HOLD, WORD)]
SOURCE = ModerationAction.Source.COMMAND
REASON = "loadbench --rules"


def install() -> int:
    """Block the 200 terms (those missing); return how many other terms the database
    already blocks (terms apply to every stream, the benchmark's too)."""
    for index, term in enumerate(TERMS):
        action, match = KINDS[index % len(KINDS)]
        services.block_term(term, action=action, match=match, source=SOURCE, reason=REASON)
    return others()


def remove() -> int:
    """Unblock the benchmark's terms, so that a run without rules has none of them; return
    how many other terms the database blocks."""
    with transaction.atomic():
        for term in BlockedTerm.objects.filter(term__in=TERMS).values_list("term", flat=True):
            services.unblock_term(term, source=SOURCE, reason=REASON)
    return others()


def others() -> int:
    return BlockedTerm.objects.exclude(term__in=TERMS).count()
