from pulse.ingest.rate_limit import SlidingWindows, TokenBuckets, retry_after_header


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_starts_full_then_refills() -> None:
    clock = Clock()
    buckets = TokenBuckets(clock=clock)
    assert [buckets.allow("d", rate=1, burst=3) for _ in range(4)] == [True, True, True, False]
    clock.now += 1.0
    assert buckets.allow("d", rate=1, burst=3)
    assert not buckets.allow("d", rate=1, burst=3)
    assert buckets.allow("other", rate=1, burst=3)  # buckets are per key


def test_token_bucket_never_exceeds_burst() -> None:
    clock = Clock()
    buckets = TokenBuckets(clock=clock)
    buckets.allow("d", rate=10, burst=2)
    clock.now += 3600
    assert sum(buckets.allow("d", rate=10, burst=2) for _ in range(10)) == 2


def test_idle_buckets_are_forgotten() -> None:
    clock = Clock()
    buckets = TokenBuckets(idle_ttl=60, clock=clock)
    for i in range(100):
        buckets.allow(i, rate=1, burst=1)
    clock.now += 61
    buckets.allow("fresh", rate=1, burst=1)
    assert set(buckets._buckets) == {"fresh"}


def test_sliding_window_and_retry_after() -> None:
    clock = Clock()
    window = SlidingWindows(limit=2, window=10, clock=clock)
    assert window.hit("ip") is None
    clock.now += 4
    assert window.hit("ip") is None
    retry = window.hit("ip")
    assert retry is not None and abs(retry - 6) < 1e-9  # the first hit leaves the window in 6 s
    assert retry_after_header(retry) == "6"
    clock.now += 6.01
    assert window.hit("ip") is None
