"""manage.py socket_memory's smoke run: a few idle sockets against a real gateway."""

import pytest

from livecomments.servers import SERVERS
from loadbench.socket_memory import measure

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("server", SERVERS)
def test_it_reports_what_each_socket_added_by_type_and_by_line(server, benchmark_redis_url):
    report = measure(server, 4, frames=1, top=40, redis_url=benchmark_redis_url)

    assert report.startswith(f"{server}: 4 idle sockets joined against 8, per socket")
    assert "comments.consumers.LiveConsumer" in report  # one more per socket
    assert "traced (tracemalloc, by lineno)" in report
    assert "RSS" not in report  # meaningless under tracing


def test_without_tracing_it_reports_the_rss(benchmark_redis_url):
    report = measure("uvicorn", 4, frames=0, top=5, redis_url=benchmark_redis_url)

    assert "  RSS: " in report and "tracemalloc" not in report
