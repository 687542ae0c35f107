"""Both NLU backends side by side on the same training data and the same held-out messages.

    .venv/bin/python bench/nlu_compare.py [--data nlu/data] [--messages nlu/eval/heldout.jsonl] [--repeat 3]

(`make bench-nlu` builds the Rasa environment first.) Each backend is trained from scratch in its
own process (wall time, imports included; peak RSS of that process), then serves the messages:
the embedded model in a child process that parses in-process, Rasa as `rasa run --enable-api`
on loopback asked through RasaInterpreter, i.e. as the assistant sees each one. Latency is per
message, one at a time; peak memory is the serving process's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlu.evaluate import evaluate, read_labelled  # noqa: E402
from tests.fakes.net import free_port  # noqa: E402

RASA_BIN = ROOT / "rasa" / ".venv" / "bin" / "rasa"
RASA_ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _run_measured(cmd: list[str], **kwargs: Any) -> tuple[float, float, str]:
    """Run a child to completion: (wall seconds, its peak RSS in MB, its stdout)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(cmd, stdout=out, stderr=err, **kwargs)
        _, status, usage = os.wait4(child.pid, 0)  # the rusage of this child alone
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(cmd)} failed ({child.returncode}):\n"
                             f"{err.read().decode(errors='replace')[-3000:]}")
        out.seek(0)
        return seconds, usage.ru_maxrss / 1024, out.read().decode()


def _latencies(seconds: list[float]) -> dict[str, float]:
    return {"p50_ms": _percentile(seconds, 0.50) * 1000, "p99_ms": _percentile(seconds, 0.99) * 1000}


# --- the embedded model, served in a child process ----------------------------------------------

async def _serve_embedded(model: Path, data: Path, commune: Path, messages: Path, repeat: int) -> None:
    from kernel.commune import load_commune
    from nlu.interpreter import EmbeddedInterpreter

    villages = load_commune(commune).villages
    interpreter = EmbeddedInterpreter.load(model, data, villages)
    texts = [c.text for c in read_labelled(messages)]
    predicted = [(await interpreter.parse(t)).intent for t in texts]
    seconds = []
    for _ in range(repeat):
        for text in texts:
            t0 = time.perf_counter()
            await interpreter.parse(text)
            seconds.append(time.perf_counter() - t0)
    print(json.dumps({"predicted": predicted, "seconds": seconds,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def embedded(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    model = tmp / "model.pkl"
    train_s, train_mb, _ = _run_measured([sys.executable, "-m", "nlu", "train", "--data", str(args.data),
                                          "--out", str(model)], cwd=ROOT)
    _, serve_mb, out = _run_measured([sys.executable, __file__, "--serve-embedded", str(model),
                                      "--data", str(args.data), "--messages", str(args.messages),
                                      "--commune", str(args.commune), "--repeat", str(args.repeat)], cwd=ROOT)
    served = json.loads(out)
    return {"train_s": train_s, "train_mb": train_mb, "serve_mb": serve_mb, "size_mb": model.stat().st_size / 1e6,
            "predicted": served["predicted"], **_latencies(served["seconds"])}


# --- Rasa, served by `rasa run --enable-api` ---------------------------------------------------


def _vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _ask_rasa(url: str, texts: list[str], repeat: int) -> tuple[list[str], list[float]]:
    from nlu.rasa_backend import RasaInterpreter

    rasa = RasaInterpreter(url, 30.0)  # no fallback: a failure must stop the benchmark
    try:
        predicted = [(await rasa.parse(t)).intent for t in texts]
        seconds = []
        for _ in range(repeat):
            for text in texts:
                t0 = time.perf_counter()
                await rasa.parse(text)
                seconds.append(time.perf_counter() - t0)
        return predicted, seconds
    finally:
        await rasa.close()


def rasa(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    if not RASA_BIN.exists():
        raise SystemExit(f"{RASA_BIN} is missing: run `make rasa-venv` (or `make bench-nlu`)")
    train_s, train_mb, _ = _run_measured([str(RASA_BIN), "train", "nlu", "--nlu", str(args.data),
                                          "--config", str(ROOT / "rasa" / "config.yml"), "--out", str(tmp),
                                          "--fixed-model-name", "nlu"], cwd=tmp, env=RASA_ENV)
    model = tmp / "nlu.tar.gz"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(tmp / "rasa.log", "wb") as log:  # the server keeps its own copy of the descriptor
        server = subprocess.Popen([str(RASA_BIN), "run", "--enable-api", "--model", str(model),
                                   "--interface", "127.0.0.1", "--port", str(port)],
                                  cwd=tmp, env=RASA_ENV, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        started = time.perf_counter()
        while True:
            if server.poll() is not None:
                raise SystemExit(f"rasa run exited:\n{(tmp / 'rasa.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/status", timeout=2) as response:
                    if json.load(response).get("model_file"):
                        break
            except OSError:
                time.sleep(0.5)
        startup_s = time.perf_counter() - started
        texts = [c.text for c in read_labelled(args.messages)]
        predicted, seconds = asyncio.run(_ask_rasa(url, texts, args.repeat))
        serve_mb = _vm_hwm_mb(server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    return {"train_s": train_s, "train_mb": train_mb, "serve_mb": serve_mb, "size_mb": model.stat().st_size / 1e6,
            "startup_s": startup_s, "predicted": predicted, **_latencies(seconds)}


# --- the table ----------------------------------------------------------------------------------

def table(results: dict[str, dict[str, Any]], messages: Path) -> str:
    cases = read_labelled(messages)
    reports = {name: evaluate(cases, r["predicted"]) for name, r in results.items()}
    names = list(results)
    rows: list[tuple[str, list[str]]] = [
        (f"accuracy, all {len(cases)}", [f"{reports[n]['accuracy']:.3f}" for n in names]),
        ("macro-F1", [f"{reports[n]['macro_f1']:.3f}" for n in names]),
    ]
    for style in reports[names[0]]["by_style"]:
        count = reports[names[0]]["by_style"][style]["n"]
        rows.append((f"accuracy, {style} ({count})", [f"{reports[n]['by_style'][style]['accuracy']:.3f}"
                                                      for n in names]))
    rows += [
        ("training time (s)", [f"{results[n]['train_s']:.1f}" for n in names]),
        ("training peak RSS (MB)", [f"{results[n]['train_mb']:.0f}" for n in names]),
        ("model on disk (MB)", [f"{results[n]['size_mb']:.1f}" for n in names]),
        ("server start-up (s)", [f"{results[n]['startup_s']:.1f}" if "startup_s" in results[n] else "-"
                                 for n in names]),
        ("parse p50 (ms)", [f"{results[n]['p50_ms']:.2f}" for n in names]),
        ("parse p99 (ms)", [f"{results[n]['p99_ms']:.2f}" for n in names]),
        ("serving peak RSS (MB)", [f"{results[n]['serve_mb']:.0f}" for n in names]),
    ]
    width = max(len(label) for label, _ in rows)
    lines = [f"| {'':<{width}} | " + " | ".join(f"{n:>8}" for n in names) + " |",
             f"|{'-' * (width + 2)}|" + "|".join("-" * 10 for _ in names) + "|"]
    lines += [f"| {label:<{width}} | " + " | ".join(f"{v:>8}" for v in values) + " |" for label, values in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT / "nlu" / "data")
    parser.add_argument("--messages", type=Path, default=ROOT / "nlu" / "eval" / "heldout.jsonl")
    parser.add_argument("--commune", type=Path, default=ROOT / "communes" / "ung-hoa")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes over the messages")
    parser.add_argument("--serve-embedded", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.data, args.messages, args.commune = args.data.resolve(), args.messages.resolve(), args.commune.resolve()

    if args.serve_embedded:
        asyncio.run(_serve_embedded(args.serve_embedded, args.data, args.commune, args.messages, args.repeat))
        return
    with tempfile.TemporaryDirectory() as tmp:
        results = {"embedded": embedded(args, Path(tmp)), "rasa": rasa(args, Path(tmp))}
    print(f"{os.cpu_count()} CPUs; data {args.data}; messages {args.messages}; "
          f"latency over {args.repeat} passes, one message at a time\n")
    print(table(results, args.messages))


if __name__ == "__main__":
    main()
