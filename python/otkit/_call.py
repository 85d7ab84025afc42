"""One solver call: the progress callback (with cancellation by a Python
exception, Ctrl-C included), and the outcome turned into an exception or
a warning."""
import signal
import threading
import warnings

from . import _lib


def progress_record(rec):
    return {"solver": rec.solver.decode() if rec.solver else None,
            "iteration": rec.iteration, "error": rec.error, "reg": rec.reg,
            "objective": rec.objective, "elapsed_s": rec.elapsed_s}


class Callback:
    """The C progress callback of one call. It calls the user's function
    (a true return cancels the solve) and stops the solve when that
    function raises: the exception is kept and re-raised by `run` once the
    library has returned cleanly with OTK_CANCELLED. It is always
    installed, so that Ctrl-C reaches a long solve at its next check even
    without a user callback: during the call, SIGINT only sets a flag
    (Python would otherwise raise KeyboardInterrupt on entry to the
    callback, where ctypes can only print it), which the callback turns
    into a cancellation and `run` into KeyboardInterrupt."""

    def __init__(self, user=None, record=None, detail=None):
        self.user = user
        self.record = record  # a list to append each error to (POT's log)
        self.detail = detail  # adds the solver's detail record to the dict
        self.error = None
        self.c_function = _lib.PROGRESS_FN(self._call)

    def _call(self, _unused, rec):
        try:
            if self.error is not None:
                return 1
            r = rec.contents
            if self.record is not None:
                self.record.append(r.error)
            if self.user is not None:
                record = progress_record(r)
                if self.detail is not None and r.detail:
                    record.update(self.detail(r.detail))
                return 1 if self.user(record) else 0
            return 0
        except BaseException as e:  # KeyboardInterrupt too: stop cleanly
            self.error = e
            return 1

    def install(self, settings):
        settings.progress = self.c_function
        settings.progress_user = None

    def _interrupted(self, signum, frame):
        if self.error is None:
            self.error = KeyboardInterrupt()

    def run(self, function, *args):
        """function(*args) with Ctrl-C turned into a cancellation (when
        SIGINT has Python's default handler and this is the main thread),
        then the pending exception, if any, raised."""
        take = (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is
                signal.default_int_handler)
        if take:
            signal.signal(signal.SIGINT, self._interrupted)
        try:
            result = function(*args)
        finally:
            if take:
                signal.signal(signal.SIGINT, signal.default_int_handler)
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        return result


def check(outcome, names=None, not_converged=None, warn=True, stacklevel=3):
    """Raise for an error status; warn (UserWarning, as POT does) for a
    result that is usable but not converged when warn is true."""
    status = outcome.status
    if status < 0:
        text = _lib.lib.otk_status_string(status).decode()
        # The message names the argument itself, so the C text's pointer
        # to the info record is dropped.
        text = text.replace(" (the info names it)", "")
        arg = outcome.bad_argument.decode() if outcome.bad_argument else None
        if arg is None:
            where = ""
        else:
            python = (names or {}).get(arg, arg)
            where = python if python == arg else f"{python} ({arg})"
            if outcome.bad_index != _lib.SIZE_MAX:
                where += f" at index {outcome.bad_index}"
            where += ": "
        if status == _lib.ERR_NO_MEMORY:
            raise MemoryError(where + text)
        if status == _lib.ERR_NUMERICAL:
            raise FloatingPointError(where + text)
        raise ValueError(where + text)
    if status in (_lib.MAX_ITER, _lib.STALLED) and warn:
        cause = outcome.cause.decode() if outcome.cause else "not converged"
        warnings.warn(f"{not_converged or 'the solver did not converge'} "
                      f"({cause})", UserWarning, stacklevel=stacklevel + 1)
