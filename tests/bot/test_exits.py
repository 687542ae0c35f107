"""A bad config, a missing model, a bad guide or bad commune data: `python -m bot | nlu | dialogues` stop with
one `error: ...` line naming it, exit code 2, and no traceback. Every case through each command's main() in the
test's process, and one case a command as a real process (a process costs a second of CPU)."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kernel.settings import ROOT

_FOREIGN = ("TELEGRAM_", "ZALO_", "DATABASE_URL", "COMMUNE_DIR", "NLU_")  # the environment must not decide


def _config(tmp_path: Path, **changes: str) -> Path:
    """A config.yml like the project's with some paths replaced (absolute, so any cwd works)."""
    text = (ROOT / "config.yml").read_text(encoding="utf-8")
    values = {"database_url": f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", "commune_dir": str(ROOT / "communes/ung-hoa"),
              "model_path": str(ROOT / "nlu/models/model.pkl"), "flows_dir": str(ROOT / "dialogues/flows"), **changes}
    lines = []
    for line in text.splitlines():
        key = line.strip().split(":", 1)[0]
        if key in values and ":" in line:
            indent = line[:len(line) - len(line.lstrip())]
            line = f"{indent}{key}: {values[key]}"
        lines.append(line)
    path = tmp_path / "config.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _bad_commune(tmp_path: Path) -> str:
    directory = shutil.copytree(ROOT / "communes/ung-hoa", tmp_path / "commune")
    teams = (Path(directory) / "teams.yml").read_text(encoding="utf-8")
    (Path(directory) / "teams.yml").write_text(teams.replace("telegram_chat_id: null", "telegram_chat_id: -100abc", 1),
                                               encoding="utf-8")
    return str(directory)


def _bad_flow(tmp_path: Path) -> str:
    flows = shutil.copytree(ROOT / "dialogues/flows", tmp_path / "flows")
    (Path(flows) / "zz_broken.yml").write_text("id: zz_broken\ntitle: Hỏng\nsteps: []\n", encoding="utf-8")
    return str(flows)


CASES = {
    "bad config": (lambda tmp: {"extra_text": "web:\n  prot: 1\n"}, "unknown setting web.prot"),
    "missing model": (lambda tmp: {"model_path": str(tmp / "nowhere.pkl")}, "no trained NLU model"),
    "bad commune data": (lambda tmp: {"commune_dir": _bad_commune(tmp)}, "teams.yml: teams[0].telegram_chat_id"),
    "bad flow": (lambda tmp: {"flows_dir": _bad_flow(tmp)}, "zz_broken"),
}
COMMANDS = {
    "bot": (["bot", "stats"], ["bad config", "bad flow"]),
    "bot run": (["bot", "chat"], ["bad config", "missing model", "bad commune data", "bad flow"]),
    "nlu": (["nlu", "parse"], ["bad config", "missing model", "bad commune data"]),
    "dialogues": (["dialogues", "validate"], ["bad config", "bad commune data", "bad flow"]),
}


def _setup(tmp_path: Path, case: str) -> Path:
    make, _ = CASES[case]
    changes = make(tmp_path)
    extra = changes.pop("extra_text", "")
    config = _config(tmp_path, **changes)
    if extra:
        config.write_text(config.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return config


def _check(case: str, code: int | str | None, stderr: str) -> None:
    assert code == 2, stderr
    lines = stderr.strip().splitlines()  # `bot stats` may log its migrations first
    assert lines[-1].startswith("error: ") and CASES[case][1] in lines[-1], stderr
    assert [line for line in lines if line.startswith("error")] == [lines[-1]]
    assert "Traceback" not in stderr


@pytest.mark.parametrize(("command", "case"), [(c, k) for c, (_, ks) in COMMANDS.items() for k in ks])
def test_one_line_error_and_exit_code_2(tmp_path: Path, command: str, case: str, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    config = _setup(tmp_path, case)
    args, _ = COMMANDS[command]
    for name in [k for k in os.environ if k.startswith(_FOREIGN)]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    main = importlib.import_module(f"{args[0]}.__main__").main
    try:
        code = main(["--config", str(config), *args[1:]])
    except SystemExit as exc:  # only an exit code is expected here, not an exception
        code = exc.code
    _check(case, code, capsys.readouterr().err)


@pytest.mark.slow  # real processes
@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_real_process_exits_with_one_line_and_code_2(tmp_path: Path, command: str) -> None:
    config = _setup(tmp_path, "bad config")
    args, _ = COMMANDS[command]
    env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN)}
    run = subprocess.run([sys.executable, "-m", args[0], "--config", str(config), *args[1:]], cwd=tmp_path,
                         env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120,
                         input="")
    _check("bad config", run.returncode, run.stderr)
