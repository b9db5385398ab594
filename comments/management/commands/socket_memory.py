"""manage.py socket_memory: where a gateway's memory per idle socket goes (docs/performance.md)."""

from django.core.management.base import BaseCommand, CommandError

from livecomments.servers import SERVERS
from loadbench.socket_memory import measure


class Command(BaseCommand):
    help = (
        "Start one gateway, join SOCKETS idle viewers to a stream and then as many again, and "
        "print what the second lot added per socket: RSS (with --frames 0), the Python "
        "objects by type, and tracemalloc's traces by line or traceback. Needs PostgreSQL "
        "and Redis, like loadbench."
    )

    def add_arguments(self, parser):
        parser.add_argument("--server", choices=SERVERS, default="uvicorn")
        parser.add_argument("--sockets", type=int, default=300)
        parser.add_argument(
            "--frames",
            type=int,
            default=1,
            help="tracemalloc's traceback depth (0: no tracing, and the RSS reported)",
        )
        parser.add_argument("--by", choices=("lineno", "filename", "traceback"), default="lineno")
        parser.add_argument("--top", type=int, default=25)
        parser.add_argument(
            "--gateway-env",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="a setting of the gateway (e.g. LC_LIGHT_SOCKETS=0); repeatable",
        )

    def handle(self, *args, server, sockets, frames, by, top, gateway_env, **options):
        pairs = [item.partition("=") for item in gateway_env]
        if any(not equals for _, equals, _ in pairs) or sockets < 1 or frames < 0:
            raise CommandError("--gateway-env takes NAME=VALUE; --sockets and --frames counts")
        extra_env = {name: value for name, _, value in pairs}
        self.stdout.write(
            measure(server, sockets, frames=frames, by=by, top=top, extra_env=extra_env)
        )
