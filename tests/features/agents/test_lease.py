"""The Redis lease: one holder, renewal by token, release on stop, take-over after the holder dies."""
import asyncio
import uuid

from state.lease import Lease
from tests.helpers import until


def _key() -> str:
    return f"t{uuid.uuid4().hex[:8]}:lock:pbx:test"


async def test_when_two_contenders_start_then_exactly_one_holds(redis_client):
    key = _key()
    one, two = Lease(redis_client, key, ttl=1.0), Lease(redis_client, key, ttl=1.0)
    await one.start()
    await two.start()
    try:
        await asyncio.sleep(1.2)  # several renewals and retries
        assert [one.held, two.held] == [True, False]
        assert await redis_client.get(key) == one.token
    finally:
        await one.stop()
        await two.stop()


async def test_when_the_holder_stops_then_the_key_is_released_and_the_other_takes_over(redis_client):
    key = _key()
    started, lost = [], []

    async def on_acquired():
        started.append(1)

    async def on_lost():
        lost.append(1)

    one = Lease(redis_client, key, ttl=1.0, on_acquired=on_acquired, on_lost=on_lost)
    two = Lease(redis_client, key, ttl=1.0, retry=0.05)
    await one.start()
    await two.start()
    try:
        await one.stop()
        assert started == [1] and lost == [1] and not one.held
        await until(lambda: two.held, timeout=2)
        assert await redis_client.get(key) == two.token
    finally:
        await two.stop()
    assert await redis_client.get(key) is None


async def test_when_the_holder_dies_without_release_then_another_takes_over_after_the_ttl(redis_client):
    key = _key()
    dead = Lease(redis_client, key, ttl=0.6)
    await dead.start()
    assert dead.held
    dead._task.cancel()  # the process is gone: no renewal, no release
    other = Lease(redis_client, key, ttl=0.6, retry=0.05)
    await other.start()
    try:
        assert not other.held
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await until(lambda: other.held, timeout=3)
        assert loop.time() - t0 < 0.6 + 0.5
    finally:
        await other.stop()


async def test_when_the_key_is_taken_behind_the_holders_back_then_it_steps_down(redis_client):
    key = _key()
    lost = []

    async def on_lost():
        lost.append(1)

    lease = Lease(redis_client, key, ttl=0.6, on_lost=on_lost)
    await lease.start()
    try:
        await redis_client.set(key, "someone-else", px=5000)
        await until(lambda: not lease.held, timeout=2)
        assert lost == [1]
    finally:
        await lease.stop()
    # a holder that lost the lease does not delete the new holder's key
    assert await redis_client.get(key) == "someone-else"


async def test_when_the_holders_work_starts_slowly_then_the_lease_is_renewed_meanwhile(redis_client):
    key = _key()
    release = asyncio.Event()

    async def slow_start():
        await release.wait()

    slow = Lease(redis_client, key, ttl=0.6, on_acquired=slow_start)
    other = Lease(redis_client, key, ttl=0.6, retry=0.05)
    starting = asyncio.create_task(slow.start())
    try:
        await until(lambda: slow.held, timeout=2)
        await other.start()
        await asyncio.sleep(1.5)  # well past the TTL: only renewals keep the key
        assert slow.held and not slow.ready and not other.held
        release.set()
        await starting
        assert slow.ready
    finally:
        release.set()
        await slow.stop()
        await other.stop()



async def _late_renewals(redis_client, key):
    """A lone holder whose renewals come after its key expired (as under a busy event loop)."""
    events: list[str] = []

    async def on_acquired():
        events.append("acquired")

    async def on_lost():
        events.append("lost")

    lease = Lease(redis_client, key, ttl=0.3, on_acquired=on_acquired, on_lost=on_lost)
    lease.renew_every = 0.6  # every renewal comes after the key expired
    await lease.start()
    await until(lambda: redis_client.exists(key), timeout=1)
    return lease, events


async def test_when_a_late_renewal_finds_the_key_expired_and_free_then_the_holder_keeps_leading(
        redis_client):
    key = _key()
    lease, events = await _late_renewals(redis_client, key)
    try:
        assert lease.held and events == ["acquired"]

        async def expired():
            return not await redis_client.exists(key)

        async def ours_again():
            return await redis_client.get(key) == lease.token

        for _ in range(2):  # two expiries, each followed by a late renewal
            await until(expired, timeout=2)
            await until(ours_again, timeout=2)
        assert lease.held and lease.ready
        assert events == ["acquired"] and lease.acquisitions == 1  # never stopped and restarted
    finally:
        await lease.stop()
    assert events == ["acquired", "lost"]


async def test_when_a_late_renewal_finds_another_token_then_the_holder_stands_down(redis_client):
    key = _key()
    lease, events = await _late_renewals(redis_client, key)
    try:
        async def taken_by_another():  # in the gap between expiry and the late renewal
            return await redis_client.set(key, "someone-else", px=5000, nx=True)

        await until(taken_by_another, timeout=3)
        await until(lambda: not lease.held, timeout=2)
        assert events == ["acquired", "lost"]
        assert await redis_client.get(key) == "someone-else"
    finally:
        await lease.stop()
    assert await redis_client.get(key) == "someone-else"


async def test_when_the_holder_stalls_past_its_ttl_then_it_is_no_longer_surely_the_holder(
        redis_client):
    """``held`` is only updated by the next renewal, which a stalled process runs late; by then
    another process may hold the key. ``surely_held`` knows the key's expiry without Redis."""
    key = _key()
    stalled = Lease(redis_client, key, ttl=0.6)
    await stalled.start()
    assert stalled.held and stalled.surely_held(margin=0.1)
    stalled._task.cancel()  # stalls: its renewals do not run
    other = Lease(redis_client, key, ttl=0.6, retry=0.05)
    await other.start()
    try:
        await until(lambda: other.held, timeout=3)
        assert stalled.held  # stale: nothing has told it yet
        assert not stalled.surely_held() and other.surely_held(margin=0.1)
    finally:
        await other.stop()
