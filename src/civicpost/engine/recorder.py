"""Outcomes of sends, written in batches by one thread: one transaction for many sends."""

import logging
import queue
import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import sessionmaker

from civicpost.config import Settings
from civicpost.db import transaction
from civicpost.engine.guard import Send, Stop
from civicpost.engine.outcomes import Happened
from civicpost.engine.recording import Batch

log = logging.getLogger(__name__)

Outcome = tuple[Send | Stop, Happened]
BATCH = 200
# How long a batch waits for more outcomes after its first. A send's thread is
# free as soon as it hands its outcome over; only the lease waits this long.
GATHER_SECONDS = 0.025


class _Count(threading.local):
    """Per send thread: how many outcomes it has handed to the recorder."""

    count = 0


class Recorder:
    """An outcome waiting here when the process dies is not lost: its delivery
    stays leased, the lease runs out, and the next worker asks the platform
    before sending anything."""

    def __init__(self, sessions: sessionmaker, *, settings: Settings, written: Callable[[list[int]], None],
                 take_back_due: Callable[[], None] = lambda: None, name: str) -> None:
        self._sessions = sessions
        self._settings = settings
        self._written = written  # told the deliveries whose outcomes each batch wrote
        self._take_back_due = take_back_due  # told when a batch recorded a post that a retract wants gone
        self._name = name
        self._queue: queue.Queue[Outcome | None] = queue.Queue()
        self._handed = _Count()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="recorder", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)

    def handed_off(self) -> int:
        """How many outcomes the calling thread has handed over so far."""
        return self._handed.count

    def record(self, ready: Send | Stop, happened: Happened) -> None:
        """Hand over what happened to one delivery.

        Without a running recorder (one job driven by hand), write it now.
        """
        if self._thread is not None and self._thread.is_alive():
            self._handed.count += 1
            self._queue.put((ready, happened))
        else:
            self.write([(ready, happened)])

    def _loop(self) -> None:
        while True:
            outcome = self._queue.get()
            if outcome is None:
                return
            # Outcomes arriving within a moment of the first share its
            # transaction: a batch costs about the same for 2 outcomes as for 20.
            outcomes = [outcome]
            until = time.monotonic() + GATHER_SECONDS
            while len(outcomes) < BATCH:
                try:
                    more = self._queue.get(timeout=max(0.0, until - time.monotonic()))
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                outcomes.append(more)
            self.write(outcomes)
            self._written([ready.delivery.id for ready, _ in outcomes])

    def write(self, outcomes: list[Outcome]) -> None:
        try:
            # No autoflush: a batch's writes wait for its end (one statement per kind, see Batch.write).
            with transaction(self._sessions) as session, session.no_autoflush:
                batch = Batch(session, owner=self._name, delivery_ids=[ready.delivery.id for ready, _ in outcomes])
                for ready, happened in outcomes:
                    batch.record(ready, happened, settings=self._settings)
                take_back = batch.write()
            if take_back:
                self._take_back_due()
            return
        except Exception:  # noqa: BLE001 - one bad outcome must not sink the others
            if len(outcomes) == 1:
                log.exception("worker %s: an outcome could not be recorded; its lease will run out and it will be "
                              "reconciled", self._name)
                return
            log.exception("worker %s: a batch of %d outcomes failed; recording them one by one", self._name,
                          len(outcomes))
        for outcome in outcomes:
            self.write([outcome])
