"""The project's lab: the benchmark and the quality harness, apart from the engine.

They measure the engine (``styleengine``) from outside, as a developer runs them from the
repository (``python -m stylelab bench|compare``); they are not installed with it and not on
the user's command line, and they are the only code that reads the project's shared sample
images, a folder beside the repository.
"""

from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
SHARED_IMAGES = REPOSITORY.parent / "shared" / "images"
