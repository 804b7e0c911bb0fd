"""Time the post-kit writers on a clip's worth of text (not a test).

    .venv/bin/python bench/bench_postkit.py                          # the offline writer, EN and RU
    .venv/bin/python bench/bench_postkit.py --gguf packaged:smollm2  # and a GGUF model in-process

Prints milliseconds per kit for the offline writer (YAKE keyphrases, title, description,
hashtags) and, with --gguf, seconds per kit for the model (load time apart) and how many of
its answers were used rather than refused."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pipeline.media.config import load_settings  # noqa: E402
from pipeline.media.postkit.kit import ClipBrief  # noqa: E402
from pipeline.media.postkit.offline import offline_kit  # noqa: E402

TEXTS = {
    "en": "The goalkeeper slipped on the frozen pitch. Then the striker kicked the ball over the fence! "
          "Everybody in the stadium pointed at the goalkeeper. ",
    "ru": "Вратарь поскользнулся на замёрзшем поле. Потом нападающий запустил мяч прямо за забор! "
          "Весь стадион показывал на вратаря. ",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--gguf", default="")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    settings = load_settings()
    for lang, text in TEXTS.items():
        brief = ClipBrief(1, text * 4, lang, "Sunday football", reasons=("motion", "laughter"))
        offline_kit(brief, settings.post_kit)
        started = time.perf_counter()
        for i in range(args.repeat):
            offline_kit(brief, settings.post_kit, i)
        ms = (time.perf_counter() - started) / args.repeat * 1000
        print(f"offline {lang}: {ms:.1f} ms per kit ({len(brief.text.split())} words)")
    if args.gguf:
        from pipeline.media.llm import open_model
        from pipeline.media.postkit.write import KitWriter

        settings = load_settings(llm={"mode": "gguf", "gguf": args.gguf, "threads": args.threads,
                                      "timeout_s": 600})
        started = time.perf_counter()
        open_model(settings.llm)
        print(f"gguf load: {time.perf_counter() - started:.1f} s")
        writer = KitWriter(settings)
        for lang, text in TEXTS.items():
            brief = ClipBrief(1, text * 2, lang, "Sunday football", reasons=("motion", "laughter"))
            started = time.perf_counter()
            kits = [writer.write(brief, i) for i in range(3)]
            per = (time.perf_counter() - started) / len(kits)
            used = sum(k.writer.startswith("llm:") for k in kits)
            print(f"gguf {lang}: {per:.1f} s per kit, {used}/{len(kits)} answers used; e.g. {kits[0].title!r}")


if __name__ == "__main__":
    main()
