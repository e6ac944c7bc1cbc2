"""The progress protocol's writers (styleengine.progress), as a reader of their lines sees them."""

from __future__ import annotations

import io
import json

from styleengine import contract
from styleengine.errors import OutOfMemoryError
from styleengine.progress import BarReporter, JsonReporter, SafeStream

PROGRESS = {
    "stage": "scale", "scale": 1, "scales": 1, "width": 64, "height": 48, "iteration": 130,
    "total": 130, "losses": {"total": 1.5}, "elapsed": 61.0, "seconds_left": 0.0,
}  # fmt: skip


def test_json_lines_are_the_contracts_events_with_its_protocol_version_and_error_kinds():
    stream = io.StringIO()
    reporter = JsonReporter(stream)
    reporter.start({"output_size": [64, 48]})
    reporter.progress(PROGRESS)
    reporter.preview("/tmp/p.npy", 130)
    reporter.done("/tmp/out.png", 61.0)
    reporter.error(OutOfMemoryError("Too large."))
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [e["event"] for e in events] == list(contract.EVENTS)
    assert events[0]["protocol"] == contract.PROTOCOL_VERSION
    assert events[-1] == {"event": "error", "kind": "out_of_memory", "message": "Too large."}
    assert contract.ErrorKind(events[-1]["kind"]).exit_code == 4


def test_the_bar_on_a_log_says_where_the_run_is_in_the_plugins_words():
    stream = io.StringIO()
    BarReporter(stream).progress(PROGRESS)
    line = stream.getvalue()
    assert line.startswith(contract.progress_place(PROGRESS))
    assert "1:01 elapsed" in line and "loss 1.5" in line


def test_a_stream_that_is_gone_silences_the_reporter_instead_of_failing_the_run():
    closed = io.StringIO()
    closed.close()
    stream = SafeStream(closed)
    stream.write("a line nobody reads\n")  # no exception: the result is still written
    JsonReporter(closed).done("/tmp/out.png", 1.0)
