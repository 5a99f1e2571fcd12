"""Running a node from ``main()``: start, spin, and shut down cleanly on every path.

Every way a node is asked to stop ends with exit code 0 and no traceback: Ctrl-C, the
*second* SIGINT that a terminal Ctrl-C under ``ros2 launch`` delivers (the terminal signals
the whole process group and launch forwards one more), SIGTERM, an external
``rclpy.shutdown()``, a signal under load and one during a long frame decode. A node that
cannot start (bad command line, settings, missing model) logs one line and returns 2.

How: before ``rclpy.init`` a Python handler is installed for SIGINT and SIGTERM; rclpy's own
handler chains to it. During start-up the first signal interrupts the start (a model load can
take seconds); within an import it does so a few milliseconds later, as an exception raised
into an extension's initialisation aborts the process; an error from making the node on a
context the signal has shut down is that interrupt too. While spinning the handler only
records the signal and lets rclpy's handler shut the context down, so the executor returns
instead of being interrupted at a random line (the spin wakes every WAKE_PERIOD to see that
it has: ``spin_until_shutdown``); from cleanup on further signals are ignored, so
``close()``, ``destroy_node()`` and the interpreter's exit finish.
Errors the executor raises because the context vanished under it (e.g. ``RuntimeError:
Unable to convert call argument '0' to Python object`` from ``_take_subscription``) are
recognised as the shutdown they are. ``with rclpy.init()`` does not exist on Humble and
Jazzy, so this is try/finally.
"""
from __future__ import annotations

from collections.abc import Callable
import faulthandler
import gc
import logging
import os
import signal
import sys
import threading

from posenet_ros.ros.ros_logging import route_python_logging
import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node

SIGNALS = (signal.SIGINT, signal.SIGTERM)
EXIT_TIMEOUT = 5.0   # seconds the interpreter may take to exit after run_node returns
WAKE_PERIOD = 0.25   # seconds: the longest a spin sleeps without checking for shutdown
RETRY_PERIOD = 0.02  # seconds: a start-up interrupt held back by an import is tried again


def spin_until_shutdown(node: Node) -> None:
    """Spin ``node`` until its context is shut down, however and from whichever thread.

    ``rclpy.spin`` can miss a Ctrl-C: rclpy's signal thread first wakes the executors (their
    SIGINT guard condition), *then* shuts the contexts down (rcl only; no ``on_shutdown``
    callback runs). An executor woken in between finds the context still valid and waits
    again, without a timeout; unless a message or a timer wakes it, it never returns (a node
    on sim time after /clock stopped: seen as "ignored SIGINT", 1 run in 20 under load).
    Waking every WAKE_PERIOD bounds the exit to that.
    """
    executor = SingleThreadedExecutor(context=node.context)
    executor.add_node(node)
    try:
        while node.context.ok():
            executor.spin_once(timeout_sec=WAKE_PERIOD)
    finally:
        executor.remove_node(node)
        executor.shutdown(timeout_sec=0)


class _Interrupts:
    """The Python-level SIGINT/SIGTERM handler under rclpy's, with one behaviour per phase."""

    def __init__(self) -> None:
        self._phase = "starting"
        self._count = 0
        for sig in SIGNALS:
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame) -> None:
        self._count += 1
        if self._phase == "starting" and self._count == 1:
            self._interrupt(frame)    # stop a model load or other slow start-up
        # spinning: rclpy's handler has shut the context down and woken the executor;
        # cleaning up: close() and destroy_node() must finish, so nothing is raised.

    def _interrupt(self, frame) -> None:
        """Raise KeyboardInterrupt here, unless a module is being imported: then a bit later.

        An exception raised into an extension module's initialisation (onnx's, imported
        during the model load) aborts the process (exit -6) instead of unwinding.
        """
        if self._phase != "starting":
            return
        if _importing(frame):
            signal.signal(signal.SIGALRM, lambda signum, later: self._interrupt(later))
            signal.setitimer(signal.ITIMER_REAL, RETRY_PERIOD)
            return
        raise KeyboardInterrupt

    def spinning(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)     # a deferred interrupt is moot now
        self._phase = "spinning"

    def cleaning_up(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        self._phase = "cleaning up"


def _importing(frame) -> bool:
    """Whether ``frame`` runs inside an import (importlib's frames are on its stack)."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def run_node(name: str, make_node: Callable[[], Node], startup_errors: tuple[type[Exception], ...],
             spin: Callable[[Node], None] = spin_until_shutdown,
             args: list[str] | None = None) -> int:
    """Create the node with ``make_node`` and ``spin`` it; the node's ``close()`` runs last.

    The end of a process (``sys.exit(main())``): after it returns, SIGINT and SIGTERM are
    ignored and a watchdog ends an interpreter exit that takes over EXIT_TIMEOUT seconds.
    """
    route_python_logging()      # the console in ROS format until the node exists
    log = logging.getLogger(name)
    interrupts = _Interrupts()
    try:
        code = _run(log, interrupts, make_node, startup_errors, spin, args)
    except KeyboardInterrupt:   # a signal while rclpy or the node was starting
        log.info("interrupted during start-up")
        code = 0
    _exit_if_threads_linger(log, code)
    # Interpreter finalisation resets Python-handled signals to SIG_DFL (not ignored ones)
    # while ONNX Runtime and DDS still tear down: a late second Ctrl-C (or launch's SIGTERM
    # right behind it) would kill the exiting process (-2, -15). Instead a watchdog ends an
    # exit that hangs, and says where it hung.
    for sig in SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    faulthandler.dump_traceback_later(EXIT_TIMEOUT, exit=True)
    return code


def _run(log: logging.Logger, interrupts: _Interrupts, make_node: Callable[[], Node],
         startup_errors: tuple[type[Exception], ...], spin: Callable[[Node], None],
         args: list[str] | None) -> int:
    try:
        rclpy.init(args=args)
    except RuntimeError as exc:   # rcl rejects the command line, e.g. a missing params file
        log.critical("cannot start: %s", exc)
        return 2
    node = None
    try:
        try:
            node = make_node()
            route_python_logging(node.get_logger())     # and /rosout from now on
        except Exception as exc:    # noqa: B902 -- re-raised unless a start-up error
            route_python_logging()      # the node that half started is gone: the console
            if not rclpy.ok():    # a signal shut the context down under the start-up
                log.info("interrupted during start-up")
                return 0
            if not isinstance(exc, startup_errors):
                raise
            log.critical("cannot start: %s", exc)
            return 2
        # Everything made so far (modules, the ONNX Runtime session, publishers) lives as long
        # as the process: moved out of the collector's reach, a full collection during the
        # stream walks the few objects of recent frames, not ~50,000 (a pause of 40-130 ms
        # under load, measured with gc.callbacks in the demo's node).
        gc.freeze()
        interrupts.spinning()
        how = ""
        try:
            spin(node)      # returns, or raises one of these, once the context is shut down
        except (KeyboardInterrupt, ExternalShutdownException):
            pass
        except Exception as exc:   # noqa: B902 -- re-raised unless the context vanished
            if rclpy.ok():
                raise
            first_line = (str(exc) or type(exc).__name__).splitlines()[0]
            how = f" (the executor was stopped mid-callback: {first_line})"
        # rclpy may have shut its context down already: the console only, not /rosout.
        route_python_logging()
        log.info("shutting down%s", how)
    finally:
        interrupts.cleaning_up()
        if node is not None:
            node.close()
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


def _exit_if_threads_linger(log: logging.Logger, code: int) -> None:
    """Exit now if a worker is still inside a long call (a decode) that ``close()`` outwaited.

    Interpreter shutdown would otherwise run library destructors under a thread still using
    them; everything of ours is closed by now, so ``os._exit`` skips only that.
    """
    busy = [t.name for t in threading.enumerate()
            if t is not threading.main_thread() and t.is_alive()]
    if busy:
        log.warning("exiting while %s still busy", ", ".join(busy))
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
