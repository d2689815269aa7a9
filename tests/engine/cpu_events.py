"""Events importable by name, so worker processes can unpickle them."""

import os

import volnux


@volnux.event
def Pid() -> int:
    return os.getpid()


@volnux.event(executor="process")
def Square(n: int) -> int:
    return n * n


@volnux.event
def SlowPid() -> int:
    import time

    time.sleep(0.2)
    return os.getpid()
