"""The contract between the GIMP plug-in and the engine: one definition of what both sides say,
one module per kind of thing: ``errors`` (kinds and exit codes), ``defaults`` (tuned values
and the Strength's curves), ``options`` (every option a user sets, from which the command
line, ``StyleSettings`` and the dialog are made), ``gallery`` (the paintings, read from their
list), ``texts`` (advice and times told in several places), ``processes`` (a started process's
stderr kept, and its end), ``events`` (the progress protocol
and the dialog's preview requests) and ``places`` (names, config, remotes, per-user folders).
Everything is re-exported here: ``from styleengine.contract import OPTIONS``.

Standard library only, and no imports from the engine: GIMP's Python loads this very package
by path. ``install.py`` copies it beside the installed plug-in as ``styleengine_contract``;
run from the repository, the plug-in loads it from here (``engine_contract``).
"""

from .defaults import (  # noqa: F401
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_CONTENT_WEIGHT,
    DEFAULT_ITERATIONS,
    DEFAULT_LAYOUT_WEIGHT,
    DEFAULT_PAINTED_SHARE,
    DEFAULT_PALETTE,
    DEFAULT_PHOTO_LIGHT,
    DEFAULT_SCALES,
    DEFAULT_SLICED_LAYERS,
    DEFAULT_STRENGTH,
    DEFAULT_STROKE_SIZE,
    DEFAULT_STYLE_LAYERS,
    DEFAULT_STYLE_WEIGHT,
    DEFAULT_TV_WEIGHT,
    MAX_STRENGTH,
    MAX_STROKE_SIZE,
    MAX_WEIGHT,
    SET_BY_STRENGTH,
    STRENGTH_DECADE,
    STROKE_SIZE_AT_MAX,
    painted_share_for,
    palette_for,
    photo_light_for,
    settings_at_strength,
    stroke_size_for,
    style_weight_for,
)
from .errors import (  # noqa: F401
    ErrorKind,
)
from .events import (  # noqa: F401
    EVENT_CLASSES,
    PREVIEW_OPTIONS,
    PREVIEW_REFINE_ITERATIONS,
    PREVIEW_SIDE,
    PROTOCOL_VERSION,
    DetailPass,
    DoneEvent,
    ErrorEvent,
    Event,
    FrameEvent,
    PreviewEvent,
    PreviewRequest,
    ProgressEvent,
    ProtocolError,
    ReadyEvent,
    StartEvent,
    event_line,
    read_event,
)
from .gallery import (  # noqa: F401
    GALLERY,
    GALLERY_BY_NAME,
    GALLERY_FILES,
    GALLERY_PREFIX,
    Painting,
    gallery_painting,
)
from .options import (  # noqa: F401
    DEVICE_CHOICES,
    OPTIONS,
    OPTIONS_BY_NAME,
    OUTPUT_SIZE,
    PAINTING_REGION,
    PAINTING_REGION_FLAG,
    PRECISION_CHOICES,
    PROGRESS_MODES,
    ROLES,
    STRENGTH,
    STRENGTH_MAP,
    STRENGTH_MAP_FLAG,
    STYLE_REGION,
    STYLE_REGION_FLAG,
    WORKING_SIZE,
    Option,
    dialog_options,
)
from .places import (  # noqa: F401
    APP_NAME,
    CONFIG_NAME,
    CONFIG_REMOTES,
    DEFAULT_REMOTE_PYTHON,
    HED_PACKAGE,
    SSH_CONFIG_VARIABLE,
    recorded_remotes,
    ssh_command,
    ssh_refused,
    typed,
    user_cache_dir,
    user_data_dir,
)
from .processes import STOP_PATIENCE_SECONDS, stderr_tail, stop_process  # noqa: F401
from .texts import (  # noqa: F401
    lower_output_size_advice,
    lower_working_size_advice,
    time_left_text,
)
