"""A mail server that takes everything (aiosmtpd) with 20 ms per message, in its own process.

    python bench/_fanout_sink.py PORT STATUS_FILE [DELAY_MS]

Every quarter second it writes STATUS_FILE: messages taken, distinct recipients, and the time
the last one was accepted; on SIGTERM it writes the count per recipient too (who got it twice).
"""

import asyncio
import json
import signal
import sys
import time
from collections import Counter
from pathlib import Path

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.received: Counter[str] = Counter()
        self.count = 0
        self.first = 0.0
        self.last = 0.0

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        for rcpt in envelope.rcpt_tos:
            self.received[rcpt] += 1
        self.count += len(envelope.rcpt_tos)
        self.last = time.time()
        self.first = self.first or self.last
        return "250 Message accepted"

    def status(self, *, full: bool = False) -> dict:
        found = {"count": self.count, "distinct": len(self.received), "first": self.first, "last": self.last}
        if full:
            found["twice"] = sum(n - 1 for n in self.received.values() if n > 1)
        return found


async def main(port: int, status: Path, delay_ms: float) -> None:
    sink = Sink(delay_ms / 1000)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(sink, hostname="sink.bench", ident="sink"),
                                      "127.0.0.1", port)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    while not stop.is_set():
        status.write_text(json.dumps(sink.status()))
        try:
            await asyncio.wait_for(stop.wait(), 0.25)
        except TimeoutError:
            pass
    server.close()
    status.write_text(json.dumps(sink.status(full=True)))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 20))
