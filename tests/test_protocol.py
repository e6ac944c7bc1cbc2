"""The progress protocol's writers (styleengine.run.protocol), as a reader of their lines
sees them."""

from __future__ import annotations

import io
import json

from styleengine import contract
from styleengine.errors import OutOfMemoryError
from styleengine.run.protocol import BarReporter, JsonReporter, SafeStream

PROGRESS = contract.ProgressEvent(
    stage="scale", scale=1, scales=1, width=64, height=48, iteration=130, total=130,
    losses={"total": 1.5}, elapsed=61.0, seconds_left=0.0,
)  # fmt: skip
START = contract.StartEvent(
    device="cpu", precision="fp32", weights="hed", content_size=[64, 48], output_size=[64, 48],
    working_size=[64, 48], working_size_automatic=True, scales=[[64, 48]], total_iterations=130,
    detail=contract.DetailPass(2, 12), estimated_seconds=60.0, estimated_peak_bytes=1,
)  # fmt: skip


def test_json_lines_are_the_contracts_events_with_its_protocol_version_and_error_kinds():
    stream = io.StringIO()
    reporter = JsonReporter(stream)
    written = [START, PROGRESS, contract.PreviewEvent("/tmp/p.npy", 130),
               contract.DoneEvent("/tmp/out.png", 61.0)]  # fmt: skip
    for event in written:
        getattr(reporter, event.name)(event)
    reporter.error(OutOfMemoryError("Too large."))
    lines = stream.getvalue().splitlines()
    # What the plug-in reads back is what the engine wrote, the error included.
    events = [contract.read_event(line) for line in lines]
    assert events == [*written, contract.ErrorEvent("out_of_memory", "Too large.")]
    assert events[0].protocol == contract.PROTOCOL_VERSION
    assert contract.ErrorKind(events[-1].kind).exit_code == 4
    # The wire: one JSON object per line, the event's name first, no unset optional fields.
    assert json.loads(lines[1]) == {"event": "progress", **{
        k: v for k, v in vars(PROGRESS).items() if v is not None}}  # fmt: skip
    assert json.loads(lines[0])["detail"] == {"iterations": 2, "tiles": 12}


def test_the_engines_progress_record_goes_on_the_wire_rounded_without_its_picture():
    """One record from the loop to the wire (run.progress.Progress is the contract's
    ProgressEvent and the picture so far): the wire's copy rounds, and has no NaN or picture."""
    from styleengine.run.progress import Progress

    record = Progress(
        stage="scale", scale=1, scales=1, width=8, height=8, iteration=3, total=9,
        losses={"total": 1.23456789, "style": float("nan")}, elapsed=1.23456,
        seconds_left=7.654, current_image=lambda: None,
    )  # fmt: skip
    wire = record.rounded()
    assert type(wire) is contract.ProgressEvent
    assert wire.losses == {"total": 1.234568, "style": None}
    assert (wire.elapsed, wire.seconds_left) == (1.235, 7.7)
    assert contract.read_event(contract.event_line(wire)) == wire


def test_the_bar_on_a_log_says_where_the_run_is_in_the_plugins_words():
    stream = io.StringIO()
    BarReporter(stream).progress(PROGRESS)
    line = stream.getvalue()
    assert line.startswith(PROGRESS.place())
    assert "1:01 elapsed" in line and "loss 1.5" in line


class _GoneReader(io.StringIO):
    """A pipe whose reader went away (``| head -n 1``): every write fails; counts the tries."""

    tries = 0

    def write(self, text: str) -> int:
        self.tries += 1
        raise BrokenPipeError(32, "Broken pipe")


def test_a_stream_that_is_gone_silences_the_reporter_instead_of_failing_the_run():
    gone = _GoneReader()
    stream = SafeStream(gone)
    stream.write("a line nobody reads\n")  # no exception: the result is still written
    assert stream.lost
    stream.write("another\n")
    stream.write_last("the last words\n")
    assert gone.tries == 1  # once lost, never tried again (each try could block or fail)
    reporter = JsonReporter(_GoneReader())
    reporter.progress(PROGRESS)
    reporter.done(contract.DoneEvent("/tmp/out.png", 1.0))  # the run goes on to its end
