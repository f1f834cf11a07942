"""Following a training run on the terminal: the loop ``train-base`` and ``train-detector`` share.

The run's events (``training.events``) come from a worker thread; the first Ctrl+C (or SIGTERM)
sets the cancel token so the trainer saves a resumable state, a second quits at once. Torch-free.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from engine.cancel import CancelToken
from engine.cli.progress import ProgressLine
from engine.cli.runtime import events_from_thread, interrupts, say
from engine.errors import Cancelled, ReviveError

if TYPE_CHECKING:
    from training.events import TrainingFinished


def follow_training(
    train: Callable[[CancelToken], Iterator[object]],
    thread_name: str,
    name: str,
    describe_validation: Callable[[dict], str],
    finished: Callable[[TrainingFinished], None],
    show_run_folder: bool = True,
    describe_tuned: Callable[[dict], str] | None = None,
) -> int:
    """Run ``train(cancel)`` and print its progress; returns the exit status: 0 done (after
    ``finished(event)`` has said what was made), 130 stopped (state saved), 2 a problem (one line).
    ``describe_validation(metrics)`` is the text after "step N: " of each validation;
    ``describe_tuned(score)`` the line after it where the run scores its snapshot (``ValidationDone.tuned``)."""
    from training.events import StepDone, TrainingFinished, TrainingStarted, ValidationDone

    cancel = CancelToken()
    progress: ProgressLine | None = None
    try:
        with interrupts(cancel, "saving the run so it can be resumed"):
            for event in events_from_thread(lambda: train(cancel), thread_name):
                if isinstance(event, TrainingStarted):
                    say(
                        f"Training {name} on {event.train_images} photos ({event.validation_images} held out)"
                        f" on {event.device}, steps {event.start_step}->{event.total_steps}"
                    )
                    if show_run_folder:
                        say(f"Run folder: {event.run_dir}")
                    progress = ProgressLine(event.total_steps)
                elif isinstance(event, StepDone) and progress:
                    losses = " ".join(f"{k} {v:.3f}" for k, v in event.losses.items())
                    progress.update(event.step, losses, event.eta_seconds)
                elif isinstance(event, ValidationDone):
                    if progress:
                        progress.close()
                    say(f"step {event.step}: {describe_validation(event.metrics)}")
                    if event.tuned and describe_tuned:
                        say(f"  {describe_tuned(event.tuned)}")
                elif isinstance(event, TrainingFinished):
                    if progress:
                        progress.close()
                    if event.cancelled:
                        say(f"Stopped at step {event.step}; state saved. Resume with the same command and --resume.")
                        return 130
                    finished(event)
    except Cancelled:  # stopped while the photos were being read: nothing to save yet
        say("Stopped before the first step; nothing was trained.")
        return 130
    except (ReviveError, ValueError) as error:
        if progress:
            progress.close()
        say(f"revive: {error}")
        return 2
    return 0
