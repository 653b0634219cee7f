"""The bare baseline: aiosmtplib with C connections sending N messages, each with its own To,
Message-ID and one-click unsubscribe headers and link, built from one template by bytes formatting.

    python bench/_fanout_bare.py PORT N CONNECTIONS

Prints JSON: seconds from start to the last message accepted, and this process's CPU seconds.
"""

import asyncio
import json
import secrets
import sys
import time

import aiosmtplib

HEAD = (b"Subject: URGENT: Boil water notice for the east side\r\nFrom: alerts@bench.city\r\nTo: %s\r\n"
        b"Message-ID: <%s@bench.city>\r\nList-Unsubscribe: <%s>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
BODY = (b"Boil water before drinking: a main broke on Elm Street. The notice lasts until the city says it ends.\r\n"
        b"\r\nRead it on the city's site:\r\nhttps://city.example/announcements/1\r\n\r\nUnsubscribe with one click:\r\n")


async def main(port: int, count: int, connections: int) -> None:
    todo: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        todo.put_nowait(i)
    mac = secrets.token_urlsafe(24).encode()

    async def connection() -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await smtp.connect()
        while not todo.empty():
            i = todo.get_nowait()
            to = b"resident%d@bench.city" % i
            link = b"https://city.example/unsubscribe/%d.%s" % (i + 1, mac)
            message = HEAD % (to, b"bench.%d" % i, link) + BODY + link + b"\r\n"
            await smtp.sendmail("alerts@bench.city", [to.decode()], message)
        await smtp.quit()

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(connection() for _ in range(connections)))
    print(json.dumps({"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu}))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))
