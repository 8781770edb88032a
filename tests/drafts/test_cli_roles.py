"""The role subcommands of the newer socket types, run as a user would (a subprocess)."""

from __future__ import annotations

import subprocess
import sys

import trio
import zmtrio


def _zmtrio(*args: str) -> list[str]:
    return [sys.executable, "-m", "zmtrio", *args]


async def test_server_role_answers_a_client() -> None:
    async with zmtrio.Context() as ctx, ctx.socket(zmtrio.CLIENT) as client:
        endpoint = await client.bind("tcp://127.0.0.1:*")
        server = subprocess.Popen(
            _zmtrio("server", "--connect", endpoint, "--reply", "pong", "-n", "2"),
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            for request in (b"one", b"two"):
                await client.send(request)
                assert await client.recv() == b"pong"
            out, _ = await trio.to_thread.run_sync(server.communicate, None, 20)
        finally:
            server.kill()
    lines = out.splitlines()
    assert [line.split(" | ")[1] for line in lines] == ["one", "two"]
    assert lines[0].split(" | ")[0].isdigit()  # the client's routing id


async def test_dish_role_prints_its_groups_only() -> None:
    async with zmtrio.Context() as ctx, ctx.socket(zmtrio.RADIO) as radio:
        endpoint = await radio.bind("tcp://127.0.0.1:*")
        dish = subprocess.Popen(
            _zmtrio("dish", "--connect", endpoint, "-j", "tv", "-n", "1"),
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            while dish.poll() is None:  # until its JOIN arrived and a message got through
                await radio.send(b"news", group="radio")
                await radio.send(b"news", group="tv")
                await trio.sleep(0.05)
            out, _ = await trio.to_thread.run_sync(dish.communicate, None, 20)
        finally:
            dish.kill()
    assert out.splitlines() == ["tv | news"]


async def test_radio_role_sends_to_its_group() -> None:
    async with zmtrio.Context() as ctx, ctx.socket(zmtrio.DISH) as dish:
        dish.join("weather")
        endpoint = await dish.bind("udp://127.0.0.1:*")
        async with trio.open_nursery() as nursery:

            async def keep_sending() -> None:
                while True:  # udp: a datagram may go before the DISH reads; send again
                    await trio.run_process(
                        _zmtrio("radio", "--connect", endpoint, "-g", "weather", "sunny")
                    )

            nursery.start_soon(keep_sending)
            msg = await dish.recv_message()
            nursery.cancel_scope.cancel()
    assert (list(msg), msg.group) == ([b"sunny"], b"weather")


async def test_bench_radio_dish_workload() -> None:
    result = await trio.run_process(
        _zmtrio(
            "bench",
            "--workload",
            "radio-dish",
            "--count",
            "3000",
            "--subscribers",
            "2",
            "--transport",
            "inproc",
        ),
        capture_stdout=True,
    )
    out = result.stdout.decode()
    assert "RADIO->DISH fan-out, inproc" in out
    (row,) = [line for line in out.splitlines() if line.startswith("zmtrio   send/recv")]
    assert float(row.split()[2].replace(",", "")) > 0  # msg/s
