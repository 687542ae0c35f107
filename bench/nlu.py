"""NLU benchmark: training time, parse latency p50/p99, messages per second, model size, peak memory.

    .venv/bin/python bench/nlu.py [--data nlu/data] [--messages nlu/eval/heldout.jsonl] [--repeat 5]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kernel.commune import load_commune
from nlu.dataset import load
from nlu.evaluate import read_labelled
from nlu.interpreter import EmbeddedInterpreter
from nlu.model import IntentModel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("nlu/data"))
    parser.add_argument("--messages", type=Path, default=Path("nlu/eval/heldout.jsonl"))
    parser.add_argument("--commune", type=Path, default=Path("communes/ung-hoa"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    data = load(args.data)
    started = time.perf_counter()
    model = IntentModel.train(data)
    train_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.pkl"
        model.save(path)
        size_mb = path.stat().st_size / 1e6
        villages = load_commune(args.commune).villages
        interpreter = EmbeddedInterpreter.load(path, args.data, villages)

    texts = [c.text for c in read_labelled(args.messages)]
    for text in texts[:50]:
        interpreter.parse_sync(text)  # warm up
    latencies = []
    for _ in range(args.repeat):
        for text in texts:
            t0 = time.perf_counter()
            interpreter.parse_sync(text)
            latencies.append(time.perf_counter() - t0)
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    per_second = len(latencies) / sum(latencies)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"training examples     {len(data.examples)} ({len(model.intents)} intents)")
    print(f"training time         {train_seconds:.2f} s")
    print(f"parse latency p50     {p50:.3f} ms")
    print(f"parse latency p99     {p99:.3f} ms")
    print(f"parse mean            {statistics.mean(latencies) * 1000:.3f} ms")
    print(f"messages per second   {per_second:.0f} (one core, one at a time)")
    print(f"model size on disk    {size_mb:.2f} MB")
    print(f"peak memory (RSS)     {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
