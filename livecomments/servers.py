"""How a gateway process is started: daphne (Channels' server, the default) or uvicorn.

Both serve livecomments.asgi:application. At 2,000 viewers x 100 comments/s uvicorn's
fan-out costs less (asyncio transports write at once; Twisted's reactor re-registers
each socket with epoll per frame): see docs/performance.md.
"""

import sys

APPLICATION = "livecomments.asgi:application"
MAX_MESSAGE_BYTES = 64 * 1024
SERVERS = ("daphne", "uvicorn")


def gateway_command(
    server: str, host: str, port: int, *, application: str = APPLICATION, quiet: bool = False
) -> list[str]:
    """The command line of one gateway process serving `application` on `host:port`."""
    if server == "daphne":
        return [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            host,
            "-p",
            str(port),
            "--websocket-max-message-size",
            str(MAX_MESSAGE_BYTES),
            *(["-v", "0"] if quiet else []),
            application,
        ]
    if server == "uvicorn":
        return [
            sys.executable,
            "-m",
            "uvicorn",
            APPLICATION,
            "--host",
            host,
            "--port",
            str(port),
            # The sans-I/O implementation writes frames straight to the transport.
            "--ws",
            "websockets-sansio",
            "--ws-max-size",
            str(MAX_MESSAGE_BYTES),
            # Broadcast frames are sent to thousands of sockets: compressing each costs more
            # than it saves on a LAN or a fast link.
            "--ws-per-message-deflate",
            "false",
            "--lifespan",
            "off",
            *(["--log-level", "warning", "--no-access-log"] if quiet else []),
        ]
    raise ValueError(f"server must be one of {', '.join(SERVERS)}, not {server!r}")
