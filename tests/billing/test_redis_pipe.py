"""The rate limiter's pipelined Redis client (``billing.redis_pipe``).

Against a scripted RESP server on a local socket (what was sent, in order;
replies held back, dropped or never sent), and against the real Redis when
``REDIS_URL`` is set."""

from __future__ import annotations

import asyncio
import os
import uuid

import hiredis
import pytest

from billing.redis_pipe import PipelinedRedis, RedisReplyError, RedisUnavailable, Script, encode_command


class FakeRedis:
    """Answers each command with ``self.answer(args)`` (bytes of RESP, or None
    to stay silent); records every command per connection."""

    def __init__(self) -> None:
        self.commands: list[list[bytes]] = []
        self.connections = 0
        self.reads = 0  # socket reads, all connections
        self.writers: list[asyncio.StreamWriter] = []
        self.scripts: dict[bytes, bytes] = {}
        self.gate: asyncio.Event | None = None  # set: replies wait for it

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}"

    async def stop(self) -> None:
        for writer in self.writers:
            writer.close()
        self.server.close()
        await self.server.wait_closed()

    def answer(self, args: list[bytes]) -> bytes | None:
        name = args[0].upper()
        if name in (b"AUTH", b"SELECT"):
            return b"+OK\r\n"
        if name == b"EVAL":
            import hashlib

            self.scripts[hashlib.sha1(args[1]).hexdigest().encode()] = args[1]
            return b"*2\r\n:1\r\n$4\r\neval\r\n"
        if name == b"EVALSHA":
            if args[1] not in self.scripts:
                return b"-NOSCRIPT No matching script. Please use EVAL.\r\n"
            return b"*2\r\n:2\r\n$7\r\nevalsha\r\n"
        if name == b"ECHO":
            return b"$%d\r\n%s\r\n" % (len(args[1]), args[1])
        if name == b"SILENT":
            return None
        return b"-ERR unknown command\r\n"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        parser = hiredis.Reader()
        try:
            while data := await reader.read(65536):
                self.reads += 1
                parser.feed(data)
                while (args := parser.gets()) is not False:
                    self.commands.append(args)
                    if self.gate is not None:
                        await self.gate.wait()
                    reply = self.answer(args)
                    if reply is not None:
                        writer.write(reply)
        except ConnectionError:
            pass


@pytest.fixture
async def fake():
    server = FakeRedis()
    server.url = await server.start()
    yield server
    await server.stop()


def test_encode_command():
    assert encode_command(("SET", b"k", 12)) == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n12\r\n"
    with pytest.raises(TypeError):
        encode_command(("SET", 1.5))


async def test_concurrent_calls_share_one_connection_and_get_their_own_replies(fake):
    client = PipelinedRedis(fake.url)
    fake.gate = asyncio.Event()  # hold replies back until all 50 commands are in flight
    calls = [asyncio.ensure_future(client.execute("ECHO", f"m{i}")) for i in range(50)]
    await asyncio.sleep(0.05)
    fake.gate.set()
    assert await asyncio.gather(*calls) == [f"m{i}".encode() for i in range(50)]
    assert fake.connections == 1
    client.close()


async def test_calls_made_in_one_turn_of_the_loop_go_out_in_one_write(fake):
    client = PipelinedRedis(fake.url)
    assert await client.execute("ECHO", "warm") == b"warm"  # connected
    reads = fake.reads
    assert await asyncio.gather(*(client.execute("ECHO", f"m{i}") for i in range(20))) == [
        f"m{i}".encode() for i in range(20)
    ]
    assert fake.reads == reads + 1
    client.close()


async def test_url_credentials_and_database_are_sent_first(fake):
    client = PipelinedRedis(fake.url.replace("redis://", "redis://user:p%40ss@") + "/7")
    assert await client.execute("ECHO", "x") == b"x"
    assert fake.commands[:2] == [[b"AUTH", b"user", b"p@ss"], [b"SELECT", b"7"]]
    client.close()


async def test_script_falls_back_to_eval_once_then_uses_its_sha(fake):
    client = PipelinedRedis(fake.url)
    script = Script("return 1")
    assert await client.evalsha(script, keys=["k"], args=[5]) == [1, b"eval"]
    assert await client.evalsha(script, keys=["k"], args=[5]) == [2, b"evalsha"]
    names = [c[0] for c in fake.commands]
    assert names == [b"EVALSHA", b"EVAL", b"EVALSHA"]
    assert fake.commands[1] == [b"EVAL", b"return 1", b"1", b"k", b"5"]
    client.close()


async def test_error_reply_raises_and_the_connection_stays_usable(fake):
    client = PipelinedRedis(fake.url)
    with pytest.raises(RedisReplyError, match="unknown command"):
        await client.execute("NOPE")
    assert await client.execute("ECHO", "still") == b"still"
    assert fake.connections == 1
    client.close()


async def test_a_call_whose_connection_closes_is_sent_once_more_on_a_new_one(fake):
    client = PipelinedRedis(fake.url)
    assert await client.execute("ECHO", "a") == b"a"
    fake.gate = asyncio.Event()  # the server reads the command but holds its reply
    waiting = asyncio.ensure_future(client.execute("ECHO", "b"))
    await asyncio.sleep(0.05)
    for writer in fake.writers:
        writer.close()  # a Redis restart
    fake.gate.set()
    assert await waiting == b"b"
    assert fake.connections == 2
    assert [c for c in fake.commands if c[0] == b"ECHO"] == [
        [b"ECHO", b"a"],
        [b"ECHO", b"b"],
        [b"ECHO", b"b"],
    ]
    client.close()


async def test_a_connection_that_closes_twice_fails_the_call(fake):
    client = PipelinedRedis(fake.url)
    assert await client.execute("ECHO", "a") == b"a"

    def close_on_silent(args):
        if args[0] == b"SILENT":
            for writer in fake.writers:
                writer.close()
        return FakeRedis.answer(fake, args)

    fake.answer = close_on_silent
    with pytest.raises(RedisUnavailable, match=r"closed|lost"):
        await client.execute("SILENT")
    assert fake.connections == 2  # one retry, on a new connection
    assert await client.execute("ECHO", "c") == b"c"
    client.close()


async def test_an_unanswered_call_times_out_and_closes_the_connection(fake):
    client = PipelinedRedis(fake.url, timeout=0.2)
    with pytest.raises(RedisUnavailable, match="did not answer"):
        await client.execute("SILENT")
    assert await client.execute("ECHO", "after") == b"after"  # a new connection
    assert fake.connections == 2
    client.close()


async def test_a_cancelled_caller_does_not_shift_the_replies_of_the_others(fake):
    client = PipelinedRedis(fake.url)
    fake.gate = asyncio.Event()
    first = asyncio.ensure_future(client.execute("ECHO", "first"))
    second = asyncio.ensure_future(client.execute("ECHO", "second"))
    await asyncio.sleep(0.05)
    first.cancel()
    fake.gate.set()
    assert await second == b"second"
    client.close()


async def test_unreachable_server_raises_redis_unavailable():
    client = PipelinedRedis("redis://127.0.0.1:1", timeout=1)
    with pytest.raises(RedisUnavailable, match="unreachable"):
        await client.execute("ECHO", "x")


def test_unsupported_url_scheme():
    with pytest.raises(ValueError, match="unix"):
        PipelinedRedis("unix:///tmp/redis.sock")


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (the machine's Redis)")
async def test_against_the_real_redis():
    client = PipelinedRedis(os.environ["REDIS_URL"])
    key = f"junction:test:{uuid.uuid4().hex}"
    # A script this server has never seen: the first call goes through EVAL.
    script = Script(f"-- {key}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])")
    results = await asyncio.gather(*(client.evalsha(script, keys=[key], args=[2]) for _ in range(20)))
    assert sorted(results) == list(range(2, 41, 2))
    assert await client.execute("DEL", key) == 1
    client.close()
