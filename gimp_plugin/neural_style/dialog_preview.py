"""The layer previewed in the dialog as it will be painted, the way G'MIC-Qt previews a filter.

One engine serves the whole dialog (``python -m styleengine preview-service``): it starts when
the dialog opens, keeps its network and the paintings loaded, and answers each request with
the painted start, then the picture refined by a few iterations. A change of a control the
preview shows asks again once the control rests; the engine drops the request in work for it.
The engine's lines are read by a thread and handed to GTK's main loop, so the dialog never
waits on it. It is stopped when the dialog closes; the folder its frames go to is the run's
private one, removed with it.
"""

import sys
import threading
import time
from array import array

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("GdkPixbuf", "2.0")
import engine_process  # noqa: E402
import npy_files  # noqa: E402
from engine_link import LinkError, contract  # noqa: E402
from gi.repository import GdkPixbuf, GLib, Gtk  # noqa: E402

LOADING_TEXT = "Loading the network…"
PAINTING_TEXT = "Painting…"
# A slider dragged asks once it rests this long, not at every step.
REST_MS = 250
# The controls whose change the preview shows (the paintings, Strength, the look, the seed);
# the others (Iterations, Working size, Detail pass, Device, Run on) leave it as it is.
SHOWN_ARGUMENTS = frozenset(
    {"strength", "strength-map", "strength-from-layer-mask"}
    | {contract.OPTIONS_BY_NAME[name].argument for name in contract.PREVIEW_OPTIONS}
)


def shows(argument):
    """Whether a change of the procedure argument ``argument`` changes the preview."""
    return argument in SHOWN_ARGUMENTS or argument.startswith("style-")


class DialogPreview:
    """The preview's widget and its engine. ``read_request(number)`` makes the request of the
    dialog's current choices (a LinkError's words are shown instead of a picture);
    ``machine()`` says where Run on runs: None for this computer, else the host and the
    engine's Python there, where the preview runs too."""

    def __init__(self, python, weights, folder, read_request, machine):
        self.python, self.weights, self.folder = python, weights, folder
        self.read_request = read_request
        self.machine = machine
        self.picture = Gtk.Image()
        self.picture.set_size_request(contract.PREVIEW_SIDE, contract.PREVIEW_SIDE * 3 // 4)
        self.caption = Gtk.Label(label=LOADING_TEXT)
        self.caption.set_line_wrap(True)
        self.caption.set_max_width_chars(40)
        self.widget = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=6)
        frame = Gtk.Frame(label="Preview")
        frame.add(self.picture)
        self.widget.pack_start(frame, False, False, 0)
        self.widget.pack_start(self.caption, False, False, 0)
        self.widget.show_all()
        self.process = None
        self.ready = False
        self.stopped = False
        self.number = 0
        self.asked_at = {}
        self.timer = 0
        self.opened_at = time.monotonic()

    def start(self):
        """Start the engine; the first request goes as soon as it is ready."""
        arguments = ["-m", "styleengine", "preview-service", "--folder", str(self.folder),
                     "--weights", self.weights]  # fmt: skip
        remote = self.machine()
        if remote is not None:
            host, python = remote
            arguments += [contract.OPTIONS_BY_NAME["remote"].flag, host,
                          contract.OPTIONS_BY_NAME["remote_python"].flag, python]  # fmt: skip
        self.stopped, self.ready = False, False
        self.caption.set_text(LOADING_TEXT)
        try:
            self.process, self.stderr, self.drain = engine_process.start_engine(
                self.python, arguments
            )
        except LinkError as error:
            self.caption.set_text(str(error))
            return
        reader = threading.Thread(target=self._read, args=(self.process.stdout, self.process))
        reader.daemon = True
        reader.start()

    def changed(self, _config, spec):
        """A control changed: ask again once it rests (a control the preview cannot show
        changes nothing)."""
        if spec.name == contract.OPTIONS_BY_NAME["remote"].argument:
            self.stop()  # the preview moves with the run, to the machine chosen
            self.start()
            return
        if not shows(spec.name):
            return
        if self.timer:
            GLib.source_remove(self.timer)
        self.timer = GLib.timeout_add(REST_MS, self._ask)

    def _ask(self):
        self.timer = 0
        if not self.ready or self.stopped:
            return False
        self.number += 1
        try:
            request = self.read_request(self.number)
        except LinkError as error:
            self.caption.set_text(str(error))
            return False
        except OSError as error:
            self.caption.set_text(f"No preview: {error.strerror or error}.")
            return False
        self.asked_at[request.request] = time.monotonic()
        try:
            self.process.stdin.write(contract.event_line(request))
            self.process.stdin.flush()
        except (OSError, ValueError):
            return False  # the engine ended: _ended says why
        self.caption.set_text(PAINTING_TEXT)
        return False

    def _read(self, stream, process):
        """The engine's lines, read here and handled in GTK's main loop (an engine replaced
        since, by a change of Run on, is not heard)."""
        for line in stream:
            try:
                event = engine_process.parse_event(line)
            except LinkError as error:
                GLib.idle_add(self.caption.set_text, str(error))
                continue
            if event is not None:
                GLib.idle_add(self._on_event, event, process)
        GLib.idle_add(self._ended, process)

    def _on_event(self, event, process):
        if process is not self.process:
            return False
        if isinstance(event, contract.ReadyEvent):
            if event.protocol != contract.PROTOCOL_VERSION:
                self.caption.set_text(engine_process.version_mismatch_message(
                    f"the engine's {event.protocol}, the plug-in's {contract.PROTOCOL_VERSION}"
                ))  # fmt: skip
                return False
            self.ready = True
            self.caption.set_text(PAINTING_TEXT)
            self._log(f"engine ready {time.monotonic() - self.opened_at:.2f} s after opening")
            self._ask()
        elif isinstance(event, contract.FrameEvent) and event.request == self.number:
            if self._show(event.path):
                seconds = time.monotonic() - self.asked_at.get(event.request, self.opened_at)
                kind = "refined" if event.final else "first"
                self._log(f"request {event.request} {kind} frame {seconds:.2f} s after asking")
                self.caption.set_text(
                    f"Refined by {event.iteration} iterations." if event.final
                    else "The painted start; refining…"
                )  # fmt: skip
        elif isinstance(event, contract.ErrorEvent) and event.request in (None, self.number):
            self.caption.set_text(event.message)
        return False

    def _show(self, path):
        """The frame at ``path`` in the picture; False if it could not be read (a newer one
        will do)."""
        try:
            shape, data = npy_files.read_npy(path)
        except (OSError, ValueError):
            return False
        height, width, channels = shape
        values = array("f")
        values.frombytes(data)
        if channels == 1:
            values = array("f", (v for v in values for _ in range(3)))
        elif channels != 3:
            return False
        rgb = bytes(min(255, max(0, int(v * 255 + 0.5))) for v in values)
        pixbuf = GdkPixbuf.Pixbuf.new_from_bytes(
            GLib.Bytes.new(rgb), GdkPixbuf.Colorspace.RGB, False, 8, width, height, width * 3
        )
        self.picture.set_from_pixbuf(pixbuf)
        return True

    def _ended(self, process):
        if process is self.process and not self.stopped:
            said = " ".join(self.stderr[-2:]) or "it ended"
            self.caption.set_text(f"The preview stopped: {said}")
        return False

    def stop(self):
        """Stop the engine (the dialog closed, or OK starts the run); nothing is left."""
        self.stopped = True
        if self.timer:
            GLib.source_remove(self.timer)
            self.timer = 0
        if self.process is not None:
            contract.stop_process(self.process)
            self.drain.join(timeout=5)
            self.process = None

    @staticmethod
    def _log(text):
        # Where GIMP puts a plug-in's messages for a terminal: the times, for who measures.
        print(f"neural-style preview: {text}", file=sys.stderr, flush=True)
