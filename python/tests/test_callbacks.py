"""Progress callbacks, cancellation (a true return, an exception, Ctrl-C)
and the thread count."""
import os
import signal
import threading

import numpy as np
import pytest

import otkit
from conftest import problem


def hard():
    x, y, a, b = problem(3, 200, 200)
    return a, b, otkit.dist(x, y)


def test_progress_sees_every_check_and_true_cancels():
    a, b, M = hard()
    seen = []

    def progress(rec):
        seen.append(rec)
        return len(seen) >= 3

    P, log = otkit.sinkhorn(a, b, M, 0.001, stopThr=0, numItermax=10**6,
                            log=True, progress=progress)
    assert len(seen) == 3 and log["status"] == "cancelled"
    assert seen[0]["solver"] == "sinkhorn" and np.isfinite(P).all()


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_an_exception_cancels_and_is_reraised(exc):
    a, b, M = hard()
    calls = []

    def progress(rec):
        calls.append(1)
        if len(calls) == 2:
            raise exc("stop")

    with pytest.raises(exc, match="stop"):
        otkit.sinkhorn(a, b, M, 0.001, stopThr=0, numItermax=10**6,
                       progress=progress)
    assert len(calls) == 2
    for solve in (lambda p: otkit.emd(a, b, M, progress=p),
                  lambda p: otkit.smooth.smooth_ot_dual(a, b, M, 0.01,
                                                        progress=p)):
        calls.clear()
        try:
            solve(progress)
        except exc:
            assert len(calls) == 2


def test_ctrl_c_stops_a_solve_without_a_callback():
    a, b, M = hard()
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            otkit.sinkhorn(a, b, M, 0.001, stopThr=0, numItermax=10**9)
    finally:
        timer.cancel()


def test_threads_give_the_same_plan():
    a, b, M = hard()
    P1 = otkit.sinkhorn(a, b, M, 0.05, threads=1)
    P2 = otkit.sinkhorn(a, b, M, 0.05, threads=2)
    np.testing.assert_allclose(P1, P2, atol=1e-12)
    with pytest.raises(ValueError, match="threads"):
        otkit.sinkhorn(a, b, M, 0.05, threads=-1)
