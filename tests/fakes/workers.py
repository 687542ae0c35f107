"""Broadcast worker processes for tests and benchmarks: `python -m bot broadcast work` against a fake Bot API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kernel.settings import ROOT


def worker_env(database_url: str, api_url: str, token: str, rate: float) -> dict[str, str]:
    """The environment of a worker process: the database, the fake Bot API and the rate limit."""
    return {**os.environ, "DATABASE_URL": database_url, "TELEGRAM_API_URL": api_url, "TELEGRAM_BOT_TOKEN": token,
            "BROADCAST_RATE_TELEGRAM": str(rate)}


def start_worker(env: dict[str, str], *, until_idle: bool = True, config: Path | None = None,
                 log: Path | None = None) -> subprocess.Popen[bytes]:
    """A worker process; its output goes to `log` (or is discarded)."""
    args = [sys.executable, "-m", "bot"]
    if config is not None:
        args += ["--config", str(config)]
    args += ["broadcast", "work"] + (["--until-idle"] if until_idle else [])
    if log is None:
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    with open(log, "ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def fast_config(tmp: Path, **broadcast: object) -> Path:
    """The project's config.yml with broadcast settings suited to a test (short polls, quick reports)."""
    import yaml

    raw = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    raw["broadcast"] = {**raw.get("broadcast", {}), "poll_seconds": 0.05, "check_seconds": 0.2,
                        "report_every_seconds": 1.0, "lease_seconds": 3.0, "backoff_seconds": 0.2, **broadcast}
    for key in ("commune_dir",):
        raw[key] = str(ROOT / raw[key])
    raw["nlu"] = {**raw.get("nlu", {}), "model_path": str(ROOT / "nlu/models/model.pkl"),
                  "data_dir": str(ROOT / "nlu/data")}
    raw["dialogues"] = {**raw.get("dialogues", {}), "flows_dir": str(ROOT / "dialogues/flows")}
    path = tmp / "config.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path
