"""
A ``piccolo`` that has already started, forked once per command.

The real ``piccolo`` spends most of its 0.5 s of CPU importing Piccolo
itself (``piccolo.main`` and every app it registers) before it reads a
single argument. The CLI tests run about 140 commands, so the suite starts
one of these per worker process instead: it imports exactly what the
``piccolo`` script imports before it calls ``main()``, and nothing else,
then forks a child per command. The child takes the command's standard
streams, working folder, environment and arguments, reseeds ``random`` and
runs ``sys.exit(main())`` as the script does; from there on it is the real
command: the project (``piccolo_conf``, ``planner_app``, the embedded
server's package) is imported by the child, under the command's
environment, and it exits through the interpreter's normal shutdown
(``atexit``, threads, buffered output).

What a child does not get is a process of its own from the start: it
shares the server's hash seed and whatever ``piccolo.main`` printed on
import (which the server records and every child prints again, first). A
test for which that matters (a new hash seed, the entry point itself) runs
the real ``piccolo``: :func:`tests.support.run_cli` does so when asked
(``fresh=True``) or when the command's environment changes a ``PYTHON*``
variable.

A child can also run a module as ``python -m <module>`` would (the
Supabase deploy walk's :mod:`tests.supabase.failing_deploy`, Piccolo's CLI
with one migration made to fail).

Protocol, over a ``SOCK_SEQPACKET`` Unix socket: the client sends one JSON
message (``argv``, ``cwd``, ``env``, ``module``) with three file descriptors
(standard input, output and error); the server answers ``{"pid": ...}`` once the
child runs and ``{"status": ...}`` (a wait status) when it has exited. The
server exits when the pipe on its standard input closes, that is when the
test process that started it is gone.

This file is run as a script (``python tests/cli_forkserver.py SOCKET
PICCOLO``, the socket's path and the ``piccolo`` script's) by
:class:`ForkServer`, and imports only the standard library before
``piccolo.main``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import select
import socket
import sys

MAX_MESSAGE = 1 << 20


def serve(path: str, script: str) -> str | None:
    """
    Answer requests until standard input closes (return ``None``); in a
    forked child, return the module to run (``""`` for ``piccolo``) once it
    has become the command.
    """
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen(16)
    # Told through standard output that the socket is ready, then silent.
    os.write(1, b"ready\n")
    running: dict[int, tuple[int, socket.socket]] = {}  # pidfd: (pid, conn)
    while True:
        readable, _, _ = select.select([0, listener, *running], [], [])
        if 0 in readable and not os.read(0, 1):
            return None
        for pidfd in [fd for fd in readable if fd in running]:
            pid, conn = running.pop(pidfd)
            _, status = os.waitpid(pid, 0)
            os.close(pidfd)
            with contextlib.suppress(OSError):
                conn.send(json.dumps({"status": status}).encode())
            conn.close()
        if listener in readable:
            conn, _ = listener.accept()
            message, fds, _, _ = socket.recv_fds(conn, MAX_MESSAGE, 3)
            request = json.loads(message)
            pid = os.fork()
            if pid == 0:
                listener.close()
                for fd, (_, other) in running.items():
                    os.close(fd)
                    other.close()
                conn.close()
                start_child(request, fds, script)
                return request.get("module") or ""
            for fd in fds:
                os.close(fd)
            conn.send(json.dumps({"pid": pid}).encode())
            running[os.pidfd_open(pid)] = (pid, conn)


def start_child(request: dict, fds: list[int], script: str) -> None:
    """Become the command: its streams, folder, environment and arguments."""
    import random

    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    if request.get("module"):
        # ``python -m``: the working folder comes first on the path.
        sys.argv = ["-m", *request["argv"]]
        sys.path[0] = request["cwd"]
    else:
        # A script's own folder comes first on its path, as for ``piccolo``.
        sys.argv = [script, *request["argv"]]
        sys.path[0] = os.path.dirname(script)
    random.seed()


def main() -> None:
    path, script = sys.argv[1], sys.argv[2]
    # Run as a script, this file's folder (``tests/``) would come first on
    # the path while Piccolo imports; the ``piccolo`` script's folder does.
    sys.path[0] = os.path.dirname(script)
    printed_out, printed_err = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stdout(printed_out),
        contextlib.redirect_stderr(printed_err),
    ):
        from piccolo.main import main as piccolo_main
    module = serve(path, script)
    if module is None:
        return
    sys.stdout.write(printed_out.getvalue())
    sys.stderr.write(printed_err.getvalue())
    if module:
        import runpy

        runpy.run_module(module, run_name="__main__", alter_sys=True)
        sys.exit()
    sys.exit(piccolo_main())


class ForkServer:
    """
    The test process's side: a server started on first use, and
    :meth:`run`, which answers like ``subprocess.run(..., capture_output=True,
    text=True)``.
    """

    def __init__(self, script: str) -> None:
        self.script = script
        self._owner = 0
        self._path = ""
        self._process = None

    def _started(self) -> str:
        import atexit
        import subprocess
        import tempfile

        if self._owner == os.getpid() and self._process.poll() is None:
            return self._path
        folder = tempfile.mkdtemp(prefix="planner-cli-")
        self._path = os.path.join(folder, "socket")
        self._process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), self._path, self.script],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=folder,
        )
        ready = self._process.stdout.readline()
        if ready != b"ready\n":
            self._process.kill()
            raise RuntimeError(f"the piccolo fork server did not start: {ready!r}")
        self._owner = os.getpid()
        atexit.register(self._stop, self._process, folder)
        return self._path

    @staticmethod
    def _stop(process, folder: str) -> None:
        import shutil
        import subprocess

        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(folder, ignore_errors=True)

    def run(
        self,
        args: list[str],
        *,
        cwd: str,
        env: dict[str, str],
        input: str | None,
        timeout: float,
        module: str = "",
    ):
        import locale
        import signal
        import subprocess
        import tempfile

        encoding = locale.getpreferredencoding(False)
        argv = [sys.executable, "-m", module, *args] if module else [self.script, *args]
        request = json.dumps(
            {"argv": list(args), "cwd": str(cwd), "env": env, "module": module}
        )
        with (
            tempfile.TemporaryFile() as stdout,
            tempfile.TemporaryFile() as stderr,
            tempfile.TemporaryFile() as stdin,
            socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as conn,
        ):
            if input is not None:
                stdin.write(input.encode(encoding))
                stdin.seek(0)
            stdin_fd = stdin.fileno() if input is not None else 0
            conn.connect(self._started())
            socket.send_fds(
                conn, [request.encode()], [stdin_fd, stdout.fileno(), stderr.fileno()]
            )
            pid = json.loads(conn.recv(MAX_MESSAGE))["pid"]
            conn.settimeout(timeout)
            try:
                status = json.loads(conn.recv(MAX_MESSAGE))["status"]
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
                conn.settimeout(None)
                conn.recv(MAX_MESSAGE)
                raise subprocess.TimeoutExpired(argv, timeout) from None

            def text(file) -> str:
                file.seek(0)
                data = file.read().decode(encoding)
                return data.replace("\r\n", "\n").replace("\r", "\n")

            return subprocess.CompletedProcess(
                argv, os.waitstatus_to_exitcode(status), text(stdout), text(stderr)
            )


if __name__ == "__main__":
    main()
