"""A golden prompt's ``regex`` check under a hard time limit.

Python's ``re`` backtracks: ``^(a+)+$`` on ``"a" * 26 + "b"`` takes seconds and doubles
with each character, and a search cannot be interrupted from another thread. So each
search runs in a forked child process that writes one byte to a pipe; the parent
waits for that byte until the deadline and otherwise kills the child. Lambda
supports ``fork`` and pipes (not ``multiprocessing.Queue`` or ``Pool``: there is no
``/dev/shm``). The gate forks only from its main thread, after its prompt threads
have ended (a fork beside running threads may copy a lock another thread holds).

Measured cost: about 1 ms per check in a bare interpreter and 7 ms with the gate's
imports loaded (boto3, Powertools; a shared 2-core machine), against about 1 µs for
the search itself; the regex checks of a 500-prompt file add about 3.5 s.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import time

# The longest one regex check may take (default; the gate passes less when its budget is low).
REGEX_TIMEOUT_SECONDS = 1.0
_MATCH, _NO_MATCH, _ERROR = b"1", b"0", b"!"


class RegexTimeout(Exception):
    """The search did not finish within its limit (catastrophic backtracking)."""


def search_within(pattern: str, text: str, seconds: float = REGEX_TIMEOUT_SECONDS) -> bool:
    """Whether ``re.search(pattern, text)`` finds a match, decided within ``seconds``.

    :param seconds: the hard limit, default ``REGEX_TIMEOUT_SECONDS`` (1 s); 0 or less
        refuses at once.
    :raises RegexTimeout: when the search has not finished by then (the child is killed).
    :raises re.error: when the pattern does not compile (compiled here, before the fork).
    """
    compiled = re.compile(pattern)
    if seconds <= 0:
        raise RegexTimeout(f"no time left for the search (limit {seconds:.3f} s)")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: search, answer one byte, leave without cleanup handlers
        status = 0
        try:
            os.close(read_end)
            os.write(write_end, _MATCH if compiled.search(text) is not None else _NO_MATCH)
        except BaseException:
            status = 1
            with contextlib.suppress(OSError):
                os.write(write_end, _ERROR)
        finally:
            os._exit(status)
    os.close(write_end)
    try:
        answer = _read_until(read_end, time.monotonic() + seconds)
    finally:
        os.close(read_end)
        if answer is None:
            _kill(pid)
        _reap(pid)
    if answer is None:
        raise RegexTimeout(f"the search did not finish within {seconds:g} s")
    if answer == _ERROR or answer not in (_MATCH, _NO_MATCH):
        raise RuntimeError("the search failed in its child process")
    return answer == _MATCH


def _read_until(fd: int, deadline: float) -> bytes | None:
    """One byte from ``fd``, or None if none came before ``deadline`` (monotonic)."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            ready, _, _ = select.select([fd], [], [], left)
        except InterruptedError:  # pragma: no cover (PEP 475 retries; kept for safety)
            continue
        if ready:
            return os.read(fd, 1) or _ERROR  # EOF without a byte: the child died


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _reap(pid: int) -> None:
    """Wait for the child, so that no zombie outlives the check."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
