"""What a long-running process does once its start-up is over."""

import gc
import sys

# How long a thread may hold the interpreter while another waits for it (Python's default: 5 ms).
SWITCH_INTERVAL_SECONDS = 0.001


def settle_memory() -> None:
    """Freeze what start-up built (modules, templates, lint data: about
    124,000 objects in a web process, alive as long as the process), so the
    collector's full passes skip it instead of stopping everything for
    40-55 ms to walk it again (measured with gc.callbacks under load)."""
    gc.collect()
    gc.freeze()


def share_the_interpreter() -> None:
    """Let a thread back from the database have the interpreter within a millisecond.

    A served process runs each request's handler on a thread. While one of them
    renders a page or a feed (tens of milliseconds of pure Python during a surge,
    after each publication), any other thread that returns from a database call
    waits for the interpreter lock until the renderer gives it up: by default
    after 5 ms, and again after each of its next calls. A staff request makes a
    dozen such calls, so it waited 5 ms a call behind the surge's renders. At
    1 ms the wait is a fifth, for a few more switches a second."""
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
