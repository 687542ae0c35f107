"""The terminal chat: talk to the assistant as a resident would; buttons become numbers."""

from __future__ import annotations

import sys
from typing import TextIO

from bot.pipeline import Pipeline
from kernel.messages import Incoming, ResidentKey, TurnResult


def render(result: TurnResult) -> tuple[str, list[str]]:
    """The replies as terminal text with numbered buttons, and the payload of each number."""
    lines: list[str] = []
    payloads: list[str] = []
    for reply in result.replies:
        lines.append(reply.text)
        for button in reply.flat_buttons():
            payloads.append(button.payload)
            lines.append(f"  [{len(payloads)}] {button.label}")
    return "\n".join(lines), payloads


async def chat(pipeline: Pipeline, user: str = "terminal", stdin: TextIO = sys.stdin,
               stdout: TextIO = sys.stdout) -> None:
    """Read lines until end of input; a number picks a button of the last answer."""
    who = ResidentKey("cli", user)
    interactive = stdin.isatty()
    text, payloads = render(await pipeline.handle(Incoming(who, payload="menu")))
    print(text, file=stdout, flush=True)
    while True:
        if interactive:
            print("> ", end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:
            break
        line = line.strip()
        if not line:
            continue
        if line.isdigit() and 1 <= int(line) <= len(payloads):
            incoming = Incoming(who, payload=payloads[int(line) - 1])
        else:
            incoming = Incoming(who, text=line[:4096])
        text, payloads = render(await pipeline.handle(incoming))
        print(text, file=stdout, flush=True)
