"""Stopping a command on SIGINT or SIGTERM: the `Interruption` of the command running now,
its handlers, and the watch that ends the process `GRACE` seconds after a signal if the
orderly stop has not come (see thermo_ode.cli.app). Its own module, so that the launchers
reach the running command's interruption without importing the command table."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time

SIGNALS = (signal.SIGINT, signal.SIGTERM)
GRACE = 1.5  # seconds from a signal to the end of the process, orderly or not
RESEND = 0.1  # seconds between deliveries of a signal no code has heard yet
CACHE_WRITE = 0.5  # seconds the end waits at most for a write of JAX's cache to finish


class Interrupted(KeyboardInterrupt):
    """What the handler raises: a KeyboardInterrupt, so every `except KeyboardInterrupt` (and
    every `finally`) on the way out runs as for a Ctrl-C."""


class Interruption:
    """The first SIGINT or SIGTERM of one `main` call: what it stops (`command`, and the run
    folder once known), its exit code, and the watch that ends the process if the orderly
    stop does not come within `GRACE` seconds."""

    def __init__(self, *, program: bool):
        self.program = program  # the process is this command: handlers stay until it exits
        self.signum = 0  # the signal the handler saw (0: none yet)
        self.command = ""
        self.folder = None  # the run's --out, once known
        self.heard = False  # the command is stopping in order
        self.swallowed = False  # Python dropped what the handler raised (see `_unraisable`)
        self.returned = False  # `main` has returned
        self.reported = False

    @property
    def code(self) -> int:
        return 128 + (self.signum or signal.SIGINT)

    def line(self) -> str:
        """The one line an interrupted command prints."""
        if self.folder is not None:
            return f"interrupted: finished chunks are kept in {self.folder}; rerun the same command to resume"
        if self.command in ("run", ""):
            return "interrupted: before the run began, nothing was written; rerun the same command"
        return f"interrupted: thermo-ode {self.command} stopped (it writes nothing into a run's store)"

    def report(self) -> int:
        """Say it once; the exit code. The command is stopping in order from here on."""
        self.heard = True
        if not self.reported:
            self.reported = True
            print(self.line(), file=sys.stderr, flush=True)
        return self.code

    def end_now(self, signum: int) -> None:
        """End the process at once, with the line (if not said yet) and the exit code; once
        no other thread is writing an entry of JAX's compilation cache (see `_writing_cache`)."""
        self.signum = self.signum or signum
        until = time.monotonic() + CACHE_WRITE
        while _writing_cache(skip=threading.get_ident()) and time.monotonic() < until:
            time.sleep(0.01)
        if not self.reported:
            self.reported = True
            # Not through sys.stderr: another thread may hold its lock, mid-write.
            os.write(2, (self.line() + "\n").encode(errors="replace"))
        os._exit(self.code)

    def leave(self, code: int) -> int:
        """`code`, for `main` to return; but an interrupted program ends here, its output
        flushed, without the interpreter's teardown: collecting what a compilation cut short
        had built took up to 4.5 s and sometimes crashed (SIGSEGV), and no thread can end the
        process meanwhile (Python stops them). Nothing is lost: the store and the lock need
        no teardown (see thermo_ode.cli.app)."""
        if self.program and self.reported:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            os._exit(code)
        return code

    # --- while `main` runs ---------------------------------------------------------------

    @contextlib.contextmanager
    def installed(self):
        """The handlers of SIGINT and SIGTERM and the watch, for the block (and, for the
        program itself, until it exits: a signal during its shutdown ends it at once too).
        Nothing outside the main thread, where Python cannot set handlers."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        self._main = threading.get_ident()
        read, write = os.pipe()
        os.set_blocking(write, False)  # the wakeup fd must not block the C-level handler
        previous: dict = {}
        previous_fd, self._previous_hook = None, sys.unraisablehook
        try:
            # The watch first: a signal while it starts meets Python's own handlers.
            threading.Thread(target=self._watch, args=(read,), name="thermo-ode signal watch", daemon=True).start()
            sys.unraisablehook = self._unraisable
            previous_fd = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
            for s in SIGNALS:
                previous[s] = signal.signal(s, self._on_signal)
            yield
        finally:
            self.returned = True
            if not self.program:  # in-process callers get their own handlers back
                for s, handler in previous.items():
                    signal.signal(s, handler)
                if previous_fd is not None:
                    signal.set_wakeup_fd(previous_fd)
                sys.unraisablehook = self._previous_hook
                os.close(write)  # the watch reads the end of the pipe and stops

    def _on_signal(self, signum, frame) -> None:
        self.signum = self.signum or signum
        if self.returned:  # the program is shutting down: nothing left to stop in order
            with contextlib.suppress(Exception):
                sys.stdout.flush()
            self.end_now(signum)
        if self.heard:  # already stopping; the watch bounds how long it may take
            return
        if _writing_cache(frame):  # not mid-entry: the watch delivers it again in RESEND s
            self.swallowed = True
            return
        raise Interrupted

    def _unraisable(self, unraisable) -> None:
        """Python drops what a handler raises inside a garbage-collector callback, a weakref
        callback or `__del__` ("Exception ignored in ..."): the watch delivers it again. Once a
        signal came, the finalizers of objects it cut short may fail too (h5netcdf's `File`,
        interrupted in its constructor, has no `_closed`): not worth a traceback."""
        if isinstance(unraisable.exc_value, Interrupted):
            self.swallowed = True
            return
        if self.signum:  # an object the signal cut short failing in its finalizer: the run is ending
            return
        self._previous_hook(unraisable)

    def _watch(self, read: int) -> None:
        """Wait for a signal (the C-level handler writes its number into the pipe even while
        the main thread is inside native code); then deliver it to the main thread again
        until some code hears it, and end the process `GRACE` seconds after it came."""
        try:
            while True:
                data = os.read(read, 64)
                if not data:  # `main` returned in-process
                    return
                came = [s for s in data if s in SIGNALS]
                if came:
                    break
            deadline = time.monotonic() + GRACE
            while time.monotonic() < deadline:
                time.sleep(RESEND)
                if self.returned and not self.program:
                    return
                if not self.heard and (not self.signum or self.swallowed):
                    # Not run yet (the signal went to another thread while the main one
                    # waits), or dropped: deliver it to the main thread itself.
                    self.swallowed = False
                    signal.pthread_kill(self._main, self.signum or came[0])
            if not (self.returned and not self.program):
                self.end_now(came[0])
        finally:
            os.close(read)


def _writing_cache(frame=None, *, skip: int | None = None) -> bool:
    """Whether `frame` (default: any thread's but `skip`'s) is inside JAX's write of an entry
    of its persistent compilation cache. That write is not atomic, and an entry cut short
    stays: JAX warns on every later read of it and never writes it again."""
    put = getattr(getattr(sys.modules.get("jax._src.lru_cache"), "LRUCache", None), "put", None)
    code = getattr(put, "__code__", None)
    if code is None:
        return False
    frames = [frame] if frame is not None else [f for t, f in sys._current_frames().items() if t != skip]
    for f in frames:
        while f is not None:
            if f.f_code is code:
                return True
            f = f.f_back
    return False


_current: Interruption | None = None


def interruption() -> Interruption:
    """The `Interruption` of the command running now (for the launchers to name the run's
    folder and to stop in order); a detached one outside `main`."""
    return _current if _current is not None else Interruption(program=False)


@contextlib.contextmanager
def running(stop: Interruption):
    """Make `stop` the interruption of the command running now (the outer one after)."""
    global _current
    outer, _current = _current, stop
    try:
        yield stop
    finally:
        _current = outer
