"""``python -m styleengine doctor``: the installation checked, and what a run would use."""

from __future__ import annotations

import argparse
import sys

from .errors import EngineError


def run_doctor(args: argparse.Namespace) -> int:
    """What would be used, checked by running it: Python, PyTorch, the device and its
    precision, the weights (a network pass), the speed and free memory, the painted start;
    with --remote, the same on that machine, after the round trip."""
    if args.remote:
        from .run.remote import remote_doctor

        arguments = ["--weights", args.weights, "--device", args.device]
        return remote_doctor(
            args.remote, args.remote_python, arguments + ["--remeasure"] * args.remeasure
        )
    import torch
    import torchvision

    from .model.device import describe_device, select_device, select_precision
    from .model.network import VGGFeatures
    from .model.weights import describe_available, load_weights
    from .plan.machine_profile import forget_profile, profile_path

    print(f"python:      {sys.version.split()[0]} ({sys.executable})")
    print(f"torch:       {torch.__version__}")
    print(f"torchvision: {torchvision.__version__}")
    if args.remeasure:
        forget_profile()
        print(f"timings:     forgotten ({profile_path()}); measured anew from now on")
    device = select_device(args.device)
    print(f"device:      {describe_device(device)}")
    print(f"precision:   {select_precision('auto', device)}")
    for name, where in describe_available().items():
        print(f"weights {name + ':':9}{where or 'not installed'}")
    weights = load_weights(args.weights)
    network = VGGFeatures(weights, ["relu5_1"]).to(device)
    with torch.no_grad():
        activations = network(torch.rand(1, 3, 64, 64, device=device))["relu5_1"]
    if not torch.isfinite(activations).all():
        raise EngineError("The network produced NaN or infinity; the weights file is damaged.")
    print(f"using:       {weights.name} ({weights.path})")
    from .api import EngineSetup
    from .settings import StyleSettings

    setup = EngineSetup(weights, device, select_precision("auto", device))
    machine = setup.stylizer(StyleSettings()).machine()
    free = "unknown" if machine.free_bytes is None else f"{machine.free_bytes / 2**30:.1f} GiB"
    print(f"speed:       {machine.seconds_per_megapixel:.2f} s per megapixel-iteration "
          f"(remembered: {profile_path()}); free memory {free}")  # fmt: skip
    from .optim.painted_start import PaintedStart

    painter = PaintedStart(device)  # NoWeightsError, with the repair, when it cannot load
    painted = painter.paint(torch.rand(1, 3, 64, 64), torch.zeros(1, 100))
    if not torch.isfinite(painted).all():
        raise EngineError("The painted start's network produced NaN; its weights are damaged.")
    print("painted start: Magenta's arbitrary-style network, ok (--init content runs without)")
    print("ok: the engine can run")
    return 0
