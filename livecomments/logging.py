"""One JSON object per log line (LOG_FORMAT=json), for log shippers.

Beside the time, level, logger and message, every field a call passes in `extra`
(`logger.warning("...", extra={"client": address})`) becomes a key of its own, so logs
can be searched by client, stream or user without parsing messages.
"""

import json
import logging
from datetime import UTC, datetime
from typing import Any

# What every LogRecord has; anything else on a record came from `extra`.
STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", (), None)).keys()
) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # Whatever a caller put in `extra` is written, as text if JSON has no type for it.
        return json.dumps(entry, default=str, ensure_ascii=False)
