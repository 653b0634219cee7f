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

# The same shape as the worker's: text and HTML parts, quoted-printable, the links in both.
HEAD = (b"Subject: URGENT: Boil water notice for the east side =?utf-8?q?=E2=80=94?= Water Department\r\n"
        b"From: alerts@bench.city\r\nTo: %s\r\nMessage-ID: <%s@bench.city>\r\n"
        b"List-Unsubscribe: <%s>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="==b=="\r\n\r\n')
TEXT = (b'--==b==\r\nContent-Type: text/plain; charset="utf-8"\r\n'
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\nURGENT: Boil water notice for the east side\r\n\r\n"
        b"Boil water before drinking: a main broke on Elm Street. The notice lasts until the ci=\r\n"
        b"ty says it ends.\r\n\r\n--\r\nWater Department\r\n\r\n--\r\nRead this announcement on the city's site:\r\n"
        b"https://city.example/announcements/1\r\n\r\nChange your topics:\r\n%s\r\n\r\n"
        b"Unsubscribe with one click:\r\n%s\r\n\r\n")
HTML = (b'--==b==\r\nContent-Type: text/html; charset="utf-8"\r\n'
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n<!doctype html>\r\n<html lang=3D\"en\">\r\n<body>\r\n"
        b"<h1>Boil water notice for the east side</h1>\r\n"
        b"<p>Boil water before drinking: a main broke on Elm Str=\r\n"
        b"eet. The notice lasts until the city says it ends.</p>\r\n<p>=E2=80=94 Water Department</p>\r\n"
        b"<hr>\r\n<p><a href=3D\"https://city.example/announcements/1\">"
        b"Read this announcement on the city's site</a></p>"
        b"\r\n<p><a href=3D\"\r\n%s\r\n\">Change your topics</a></p>\r\n<p><a href=3D\"\r\n%s\r\n"
        b"\">Unsubscribe with one click</a></p>\r\n</body>\r\n</html>\r\n--==b==--\r\n")

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
            manage = b"https://city.example/subscriptions/%d.%s" % (i + 1, mac)
            message = HEAD % (to, b"bench.%d" % i, link) + TEXT % (manage, link) + HTML % (manage, link)
            await smtp.sendmail("alerts@bench.city", [to.decode()], message)
        await smtp.quit()

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(connection() for _ in range(connections)))
    print(json.dumps({"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu}))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))
