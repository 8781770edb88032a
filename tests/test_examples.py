"""Every program in examples/ runs to its end within a time bound and prints what the
guide's version prints."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str, *args: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert not result.stderr, result.stderr
    return result.stdout.splitlines()


def test_every_example_is_tested_and_listed_in_the_readme() -> None:
    tested = {path.stem for path in EXAMPLES.glob("*.py")}
    names = {name.removeprefix("test_") for name in globals() if name.startswith("test_")}
    assert tested <= names, tested - names
    readme = (EXAMPLES.parent / "README.md").read_text()
    for name in tested:
        assert f"examples/{name}.py" in readme, name


def test_hello_world() -> None:
    lines = run_example("hello_world.py")
    replies = [line for line in lines if line.startswith("client: reply")]
    assert replies == [f"client: reply {n}: b'World'" for n in range(5)]
    assert lines.count("server: received b'Hello'") == 5


def test_weather() -> None:
    lines = run_example("weather.py")
    updates = [line for line in lines if re.fullmatch(r"client: 10001 -?\d+ \d+", line)]
    assert len(updates) == 5
    average = sum(int(line.split()[2]) for line in updates) / 5
    assert lines[-1] == f"client: average temperature for zipcode 10001 was {average:.1f}F"


def test_pipeline() -> None:
    lines = run_example("pipeline.py")
    assert lines[0].startswith("ventilator: sent 30 tasks")
    match = re.fullmatch(r"sink: 30 tasks done in \d+ ms \((.*)\)", lines[1])
    assert match, lines
    shares = dict(part.split(": ") for part in match.group(1).split(", "))
    assert sum(map(int, shares.values())) == 30
    assert set(shares) == {"worker 1", "worker 2", "worker 3"}  # every worker got tasks


def test_broker() -> None:
    lines = run_example("broker.py")
    answered = {line.split(" -> ")[0] for line in lines}
    assert answered == {f"client-{c} request {n}" for c in range(2) for n in range(4)}
    assert all(re.fullmatch(r".* -> done by worker-[01]", line) for line in lines)


def test_load_balancing_broker() -> None:
    lines = run_example("load_balancing_broker.py")
    assert sorted(line.split(":")[0] for line in lines) == [f"client-{n}" for n in range(6)]
    assert all(re.fullmatch(r"client-\d: OK from worker-[012]", line) for line in lines)


def test_lazy_pirate() -> None:
    # How many requests succeed before the "crash" depends on timing (a loaded machine
    # answers late, and the client retries): the shape of the conversation does not.
    lines = run_example("lazy_pirate.py")
    replies = [line for line in lines if line.startswith("client: server replied")]
    assert replies == [f"client: server replied OK ({n})" for n in range(1, len(replies) + 1)]
    assert replies, lines
    assert "server: simulating CPU overload" in lines
    crash = lines.index("server: simulating a crash")
    assert lines[-1] == "client: server seems to be offline, abandoning"
    retries = lines[crash + 1 : -1]
    assert 1 <= len(retries) <= 2  # fewer when that request had timed out once already
    assert set(retries) == {"client: no response from server, retrying..."}


def test_paranoid_pirate() -> None:
    lines = run_example("paranoid_pirate.py")
    assert [line for line in lines if line.startswith("client: server replied")] == [
        f"client: server replied OK ({n})" for n in range(1, 9)
    ]
    assert "worker-0: simulating a crash" in lines
    crash = lines.index("worker-0: simulating a crash")
    assert "client: no response from server, retrying..." in lines[crash:]
    assert not any(line.startswith("worker-0: normal") for line in lines[crash:])


def test_ironhouse() -> None:
    lines = run_example("ironhouse.py")
    key = re.fullmatch(r"client: my public key is (\S{40})", lines[0])
    assert key, lines
    # The one request the server got came over CURVE, authenticated as the client's key
    # (ZAP's User-Id); the intruder's key is refused during the handshake (ZAP status 400),
    # so its queued request never reaches the server.
    assert lines[1:] == [
        f"server: b'Hello' from {key.group(1)}",
        "client: reply b'World'",
        "intruder: refused by the server, ZAP status 400",
    ]


@pytest.mark.parametrize("name", sorted(path.name for path in EXAMPLES.glob("*.py")))
def test_examples_say_how_to_run_them(name: str) -> None:
    assert f"python examples/{name}" in (EXAMPLES / name).read_text()
