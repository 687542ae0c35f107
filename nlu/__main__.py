"""python -m nlu train | parse | evaluate FILE (see ../shared/INTENTS.md and INTERFACES.md)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from kernel.commune import CommuneError, load_commune
from kernel.settings import ConfigError, load_settings
from nlu.dataset import DataError, load
from nlu.evaluate import evaluate, format_report, read_labelled
from nlu.interpreter import EmbeddedInterpreter, ModelMissing
from nlu.model import IntentModel
from nlu.rasa_backend import RasaInterpreter, RasaUnavailable
from nlu.types import Interpreter


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nlu", description="Train, use and measure the NLU model.")
    parser.add_argument("--config", type=Path, default=Path("config.yml"))
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train the model from nlu/data/ and save it")
    train.add_argument("--data", type=Path)
    train.add_argument("--out", type=Path)
    parse = sub.add_parser("parse", help="one message a line in, one JSON object a line out")
    parse.add_argument("--model", type=Path)
    ev = sub.add_parser("evaluate", help="accuracy, per-intent precision/recall/F1, confusions, per style")
    ev.add_argument("file", type=Path, nargs="?", default=Path("nlu/eval/heldout.jsonl"))
    ev.add_argument("--model", type=Path)
    ev.add_argument("--backend", choices=("embedded", "rasa"), default="embedded")
    ev.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    nlu = settings.nlu

    if args.command == "train":
        data_dir = args.data or nlu.data_dir
        out = args.out or nlu.model_path
        try:
            data = load(data_dir)
            model = IntentModel.train(data)
        except DataError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        model.save(out)
        print(f"trained on {len(data.examples)} examples of {len(model.intents)} intents "
              f"in {model.train_seconds:.1f} s; saved to {out} ({out.stat().st_size / 1e6:.1f} MB)")
        return 0

    try:
        embedded = EmbeddedInterpreter.load(args.model or nlu.model_path, nlu.data_dir,
                                            load_commune(settings.commune_dir).villages)
    except ModelMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except CommuneError as exc:
        print(f"error: commune data in {settings.commune_dir}: {exc}", file=sys.stderr)
        return 2

    if args.command == "parse":
        for line in sys.stdin:
            text = line.rstrip("\r\n")
            print(json.dumps(embedded.parse_sync(text).as_dict(), ensure_ascii=False), flush=True)
        return 0

    try:
        cases = read_labelled(args.file)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    interpreter: Interpreter = embedded
    if args.backend == "rasa":
        interpreter = RasaInterpreter(nlu.rasa_url, nlu.rasa_timeout_seconds, fallback=None)

    async def run() -> list[str]:
        start = getattr(interpreter, "start", None)
        if start:
            await start()
        try:
            return [(await interpreter.parse(c.text)).intent for c in cases]
        finally:
            close = getattr(interpreter, "close", None)
            if close:
                await close()

    started = time.perf_counter()
    try:
        predicted = asyncio.run(run())
    except RasaUnavailable as exc:
        print(f"error: {exc} (start it with `make rasa`; RASA_URL={nlu.rasa_url})", file=sys.stderr)
        return 1
    report = evaluate(cases, predicted)
    report["seconds"] = round(time.perf_counter() - started, 3)
    print(json.dumps(report, ensure_ascii=False, indent=1) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
