"""How fast previews render: renditions per second and the cost of a ten-channel preview.

Run: python bench/render.py [--runs 500]

Every run changes the wording a little, so the lint cache (keyed by text)
only helps across channels of one preview, as it does for a drafter typing.
Prints figures, not pass/fail; the aim is a ten-channel preview well under 50 ms.
"""

import argparse
import statistics
import time

from civicpost import PROJECT_ROOT
from civicpost.content import ChannelView, Draft, MediaRef
from civicpost.rendering import Renderer
from civicpost.text import lengths, lint

BODY = (
    "Main Street between 1st and 5th Avenue will be closed on Saturday from 7 a.m. to 6 p.m. "
    "for the Spring Parade. Buses on routes 4 and 12 will use Oak Avenue instead. Street "
    "parking on Main Street is not allowed after midnight on Friday; cars left there will be "
    "towed. The parade starts at City Hall at 10 a.m. and ends at Riverside Park, where food "
    "trucks and a family concert wait. 🎉 #SpringParade"
)
ES = ("Desfile de primavera el sábado", "La calle Main estará cerrada el sábado de 7 a 18 h por el "
      "desfile de primavera. Los autobuses de las rutas 4 y 12 usarán Oak Avenue. #DesfileDePrimavera")
ZH = ("周六春季游行", "周六上午7点至下午6点，主街（第一大道至第五大道）因春季游行封闭。4路和12路公交车改走橡树大道。"
      "游行上午10点从市政厅出发，在河滨公园结束。")
CHANNELS = [
    ChannelView(1, "x", "Parks on X"),
    ChannelView(2, "x", "City on X", settings={"overflow": "thread"}),
    ChannelView(3, "mastodon", "Parks on Mastodon"),
    ChannelView(4, "mastodon", "Parques on Mastodon", language="es"),
    ChannelView(5, "bluesky", "Parks on Bluesky", settings={"overflow": "thread"}),
    ChannelView(6, "bluesky", "公园 on Bluesky", language="zh"),
    ChannelView(7, "facebook", "Parks on Facebook"),
    ChannelView(8, "email", "Parks newsletter"),
    ChannelView(9, "webhook", "City website hook", language="es"),
    ChannelView(10, "feed", "City feed"),
]
MEDIA = [
    MediaRef("a" * 64, "Marching band in red uniforms on Main Street", size_bytes=2_400_000),
    MediaRef("b" * 64, "Map of the parade route from City Hall to Riverside Park", size_bytes=450_000),
]


def draft(run: int) -> Draft:
    return Draft(
        title=f"Spring Parade closes Main Street on Saturday ({run})",
        body=f"{BODY} {run}",
        department="Parks and Recreation",
        link="https://city.example.gov/parks/spring-parade",
        translations={"es": (ES[0], f"{ES[1]} {run}"), "zh": (ZH[0], f"{ZH[1]}{run}")},
        media=MEDIA,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=500)
    runs = parser.parse_args().runs

    started = time.perf_counter()
    renderer = Renderer(PROJECT_ROOT / "templates")
    startup = time.perf_counter() - started

    for run in range(20):  # Warm the interpreter's own caches, not ours: every draft differs.
        renderer.render_all(draft(-run - 1), CHANNELS)
    timings = []
    for run in range(runs):
        started = time.perf_counter()
        renditions = renderer.render_all(draft(run), CHANNELS)
        timings.append(time.perf_counter() - started)
    cold = []
    for run in range(runs, runs + min(runs, 100)):
        # A preview whose every word is new: nothing measured or checked before.
        lengths._x_word.cache_clear()
        lint._lint_text.cache_clear()
        started = time.perf_counter()
        renderer.render_all(draft(run), CHANNELS)
        cold.append(time.perf_counter() - started)
    total = sum(timings)
    threaded = sum(1 for r in renditions if r.parts)
    print(f"renderer start (compile, sample renders, load word and syllable data): {startup * 1000:.0f} ms")
    print(f"channels per preview: {len(CHANNELS)} ({threaded} threaded), "
          f"languages: en, es, zh, images: {len(MEDIA)}")
    print(f"renditions per second: {runs * len(CHANNELS) / total:,.0f}")
    print(f"ten-channel preview, wording edited between runs: {summary(timings)}")
    print(f"ten-channel preview, caches emptied before each run: {summary(cold)}")


def summary(timings: list[float]) -> str:
    ordered = sorted(timings)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * len(ordered)) - 1)]
    return (f"median {statistics.median(ordered) * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms, "
            f"max {ordered[-1] * 1000:.2f} ms over {len(ordered)} runs")


if __name__ == "__main__":
    main()
