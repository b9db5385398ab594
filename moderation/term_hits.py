"""Rule hit counters: how many comments each blocked term held or refused.

The writer calls `count` inside its flush's transaction, so a count is exactly as durable
as the refusal or hold it counts. One upsert a flush, and only when a term acted: a flush
with no hits costs nothing.
"""

from collections.abc import Mapping
from datetime import datetime

from django.db import connection

from .models import BlockedTermHits

BUCKET_MINUTES = 5


def bucket_of(at: datetime) -> datetime:
    return at.replace(minute=at.minute - at.minute % BUCKET_MINUTES, second=0, microsecond=0)


def count(held: Mapping[int, int], refused: Mapping[int, int], at: datetime) -> None:
    """Add these holds and refusals, by term id, to the bucket of `at`."""
    term_ids = sorted(held.keys() | refused.keys())
    if not term_ids:
        return
    table = BlockedTermHits._meta.db_table
    bucket = connection.ops.adapt_datetimefield_value(bucket_of(at))
    values = ", ".join(["(%s, %s, %s, %s)"] * len(term_ids))
    params = [p for t in term_ids for p in (t, bucket, held.get(t, 0), refused.get(t, 0))]
    # Increments, not overwrites, which bulk_create(update_conflicts=True) cannot say.
    # Rows in term order, so that two gateways' flushes lock them in the same order.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (term_id, bucket, held, refused) VALUES {values} "
            "ON CONFLICT (term_id, bucket) DO UPDATE SET "
            f"held = {table}.held + excluded.held, "
            f"refused = {table}.refused + excluded.refused",
            params,
        )
