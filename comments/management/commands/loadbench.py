"""manage.py loadbench: the load benchmark of issue 5 (see docs/performance.md)."""

from argparse import ArgumentTypeError
from importlib.util import find_spec
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from livecomments.servers import SERVERS
from loadbench import console_soak, profile, report
from loadbench.arguments import comma_separated
from loadbench.console_soak import ConsoleScenario, run_console_soak
from loadbench.gateways import TARGETS
from loadbench.runner import Scenario, Target, run_all

_counts = comma_separated(int, lambda n: n >= 0, "whole numbers, 0 or more")
_rates = comma_separated(float, lambda rate: rate > 0, "numbers above 0")
_pids = comma_separated(int, lambda pid: pid > 0, "process ids")


def _gateway_env(text: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, equals, value = item.partition("=")
        if not equals or not name.isidentifier():
            raise ArgumentTypeError(f"expected NAME=VALUE, not {item!r}")
        pairs.append((name, value))
    return tuple(pairs)


# --rules: the Scenario.rules of each run ("" keeps the posts as they always were).
RULES = {None: [""], "off": ["off"], "on": ["on"], "both": ["off", "on"]}


def _targets(text: str) -> list[str]:
    """ours, baseline, floor or a comma-separated list of them; both: ours,baseline; all."""
    if text == "both":
        return ["ours", "baseline"]
    if text == "all":
        return list(TARGETS)
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in TARGETS]
    if not names or unknown:
        raise CommandError(
            f"--target takes {', '.join(TARGETS)}, both, all or a comma-separated list; "
            f"got {text!r}"
        )
    return list(dict.fromkeys(names))


class Command(BaseCommand):
    help = (
        "Measure post→display latency, delivery and gateway cost: start (or target) gateway "
        "processes, open VIEWERS sockets and POSTERS posting users at RATE comments/s for "
        "DURATION seconds, and report the figures (JSON in --results-dir). Needs PostgreSQL "
        "and Redis (DATABASE_URL, REDIS_URL); the stream and users are created in that database."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--target",
            type=_targets,
            default=["ours"],
            help="ours (livecomments.asgi), the tutorial-shaped baseline, the floor (a bare "
            "websockets server: no database, no Redis), a comma-separated list of them run "
            "side by side (ours,floor), both (ours,baseline) or all (default: ours)",
        )
        parser.add_argument(
            "--viewers",
            type=_counts,
            default=[200],
            help="viewer sockets; a comma-separated list runs a sweep (200)",
        )
        parser.add_argument(
            "--rate",
            type=_rates,
            default=None,
            help="comments per second over all posters; a comma-separated list runs a sweep "
            "(20; with --console or --page 100)",
        )
        parser.add_argument(
            "--duration",
            type=float,
            default=None,
            help="seconds of posting (20; with --console or --page 60)",
        )
        parser.add_argument(
            "--posters",
            type=int,
            default=0,
            help="posting users, each its own socket (default: one per comment/s, at least 2)",
        )
        parser.add_argument(
            "--gateways", type=int, default=1, help="gateway processes to start (1)"
        )
        parser.add_argument(
            "--streams",
            type=int,
            default=1,
            help="streams sharing the viewers, posters and comments evenly, each reported "
            "apart (and the Redis shard it lives on) besides the totals (1)",
        )
        parser.add_argument(
            "--history",
            type=int,
            default=0,
            help="comments each stream already has when the viewers join, as on a busy "
            "stream: every fresh join then reads a full recent-comments cache (0)",
        )
        parser.add_argument(
            "--server",
            choices=SERVERS,
            default=None,
            help="the server of the gateways this starts (daphne; with --console uvicorn)",
        )
        parser.add_argument(
            "--gateway-env",
            action="append",
            type=_gateway_env,
            default=None,
            metavar="NAME=VALUE[,NAME=VALUE]",
            help="settings for our gateways (e.g. LC_DIRECT_WRITES=0); given twice or more, "
            "each is a variant run side by side with the others ('' for none)",
        )
        parser.add_argument(
            "--client-processes",
            type=int,
            default=0,
            help="load generator processes (default: one per 1,500 sockets)",
        )
        parser.add_argument(
            "--posters-apart",
            action="store_true",
            help="each stream's posters in a client process of their own (one more per "
            "stream): acks timed by a loop no viewer's frames hold up",
        )
        parser.add_argument(
            "--drain",
            type=float,
            default=10.0,
            help="seconds allowed after posting for the last deliveries (10)",
        )
        parser.add_argument(
            "--repeat",
            type=int,
            default=1,
            help="run each scenario N times; tables show medians (1)",
        )
        parser.add_argument(
            "--url",
            default="",
            help="comma-separated ws:// URLs of running gateways instead of "
            "starting them (only with one --target)",
        )
        parser.add_argument(
            "--gateway-pids",
            type=_pids,
            default=[],
            help="with --url: pids of those gateways, to measure CPU and memory",
        )
        parser.add_argument(
            "--keep-limits",
            action="store_true",
            help="keep the product's rate limits on the gateways this starts "
            "(by default they are raised so that no post is limited)",
        )
        parser.add_argument(
            "--results-dir",
            type=Path,
            default=Path("bench-results"),
            help="where the JSON figures and gateway logs go (bench-results)",
        )
        parser.add_argument(
            "--rules",
            choices=["off", "on", "both"],
            default=None,
            help="posts carry a line of chat; on: 200 blocked terms (a mix of reject and "
            "hold, word and forms) and holdLinks on the stream, none of which the posts "
            "trip; off: none of them; both: each scenario without, then with, side by side",
        )
        parser.add_argument(
            "--console",
            action="store_true",
            help="the moderation console under load instead of viewer sockets: a moderator's "
            "/moderate/ page in Chromium (Playwright, dev extra) while the posters post; "
            "reports how far its feed falls behind, its rows, JS heap and long tasks",
        )
        parser.add_argument(
            "--page",
            action="store_true",
            help="the stream page under load, as --console measures the console: a "
            "signed-in viewer's /streams/<id>/ in Chromium while the posters post",
        )
        parser.add_argument(
            "--profile",
            action="store_true",
            help="record each gateway with py-spy (dev extra) while the posters post: a flame "
            "graph (SVG) and the split of its CPU by step, in RESULTS_DIR/profiles",
        )
        parser.add_argument(
            "--plot",
            type=Path,
            default=None,
            help="draw the plot of this run's figures into this PNG",
        )
        parser.add_argument(
            "--plot-from",
            nargs="*",
            type=Path,
            default=None,
            help="run nothing: draw --plot and print the table from these JSON files",
        )
        parser.add_argument(
            "--cost-plot",
            type=Path,
            default=None,
            help="draw gateway CPU per million deliveries against viewers and against "
            "comments/s (a --viewers sweep and a --rate sweep) into this PNG",
        )

    def handle(self, *args, **options):
        # matplotlib is in the dev extra only: the figures need no plot.
        plots = options["plot"] or options["cost_plot"] or options["plot_from"] is not None
        if plots and not find_spec("matplotlib"):
            raise CommandError("--plot needs matplotlib: pip install -e '.[dev]'")
        if options["plot_from"] is not None:
            return self.replot(options)
        if options["console"] and options["page"]:
            raise CommandError("--console and --page each measure one page: pick one")
        if options["console"] or options["page"]:
            return self.console(options)
        for name, default in (("rate", [20.0]), ("duration", 20.0), ("server", "daphne")):
            if options[name] is None:
                options[name] = default
        targets = options["target"]
        urls = tuple(u for u in options["url"].split(",") if u)
        if urls and len(targets) > 1:
            raise CommandError("--url points at one kind of server: pick one --target")
        if "floor" in targets and options["gateways"] > 1 and not urls:
            raise CommandError("the floor is one process: it relays nothing between gateways")
        if options["duration"] <= 0:
            raise CommandError("--duration must be positive")
        if options["streams"] < 1:
            raise CommandError("--streams must be at least 1")
        target = Target(
            urls=urls,
            pids=tuple(options["gateway_pids"]),
            raise_limits=not options["keep_limits"],
            log_dir=options["results_dir"] / "logs",
            profile_dir=options["results_dir"] / "profiles" if options["profile"] else None,
        )
        if options["profile"]:
            try:
                profile.py_spy()
            except RuntimeError as error:
                raise CommandError(str(error)) from error
        scenarios = [
            Scenario(
                target=name,
                viewers=viewers,
                # A consumer reads a socket's next frame only after the previous post is
                # committed, so a poster faster than one commit per second queues behind itself.
                posters=options["posters"] or max(2, options["streams"], round(rate)),
                rate=rate,
                duration=options["duration"],
                gateways=options["gateways"],
                streams=options["streams"],
                server=options["server"],
                client_processes=options["client_processes"],
                posters_apart=options["posters_apart"],
                drain=options["drain"],
                rules=rules,
                gateway_env=gateway_env if name != "floor" else (),
                history=options["history"] if name != "floor" else 0,
            )
            for viewers in options["viewers"]
            for rate in options["rate"]
            for name in targets
            for rules in RULES[options["rules"]]
            for gateway_env in options["gateway_env"] or [()]
            # The floor takes none of our settings: run it once, not once per variant.
            if name != "floor" or gateway_env == (options["gateway_env"] or [()])[0]
        ]
        try:
            runs, _ = run_all(
                scenarios, target, options["repeat"], options["results_dir"], out=self.stdout
            )
        except (RuntimeError, ValueError) as error:
            raise CommandError(str(error)) from error
        self.draw(report.summarise(runs), options)

    def draw(self, summary: list[dict], options) -> None:
        if options["plot"]:
            self.stdout.write(f"plot drawn to {report.plot(summary, options['plot'])}")
        if options["cost_plot"]:
            self.stdout.write(f"plot drawn to {report.plot_cost(summary, options['cost_plot'])}")

    def console(self, options):
        rates = [100.0] if options["rate"] is None else options["rate"]
        if len(rates) > 1:
            raise CommandError("--console and --page measure one rate: give one")
        [rate] = rates
        duration = 60.0 if options["duration"] is None else options["duration"]
        if duration <= 0:
            raise CommandError("--duration must be positive")
        scenario = ConsoleScenario(
            rate=rate,
            duration=duration,
            # As for viewers: one posting user per comment/s, each posting once a second.
            posters=options["posters"] or max(2, round(rate)),
            server=options["server"] or "uvicorn",
            drain=options["drain"],
            page="stream" if options["page"] else "console",
        )
        target = Target(log_dir=options["results_dir"] / "logs")
        try:
            figures = run_console_soak(scenario, target, out=self.stdout)
        except (RuntimeError, ValueError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(console_soak.summary(figures))
        path = console_soak.write_json(figures, options["results_dir"])
        self.stdout.write(f"figures written to {path}")

    def replot(self, options):
        if not options["plot_from"]:
            raise CommandError("--plot-from needs at least one JSON file")
        summary = report.summarise(report.load_runs(options["plot_from"]))
        self.stdout.write(report.table(summary))
        self.draw(summary, options)
