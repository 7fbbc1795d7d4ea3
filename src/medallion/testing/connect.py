"""A Spark Connect server with Delta Lake, in a subprocess: for tests and local development.

:class:`ConnectServer` starts Spark's own ``SparkConnectServer`` (pyspark ships it in its
jars) through ``spark-submit``, with the settings medallion's sessions get
(:func:`medallion.session.delta_config`: Delta's SQL extension and catalog, Delta's jars),
on a free port of 127.0.0.1. Clients reach it with ``spark_session(remote=server.url)``.

Delta's own Connect plugin (``io.delta:delta-connect-server``) is not needed: medallion runs
Delta's commands as SQL, which Delta's SQL extension handles on the server.

Run one in the foreground with ``python -m medallion.testing.connect`` (``scripts/connect-server``
in medallion's repository); it prints the ``sc://`` URL and stops on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from medallion.errors import MedallionError

__all__ = ["ConnectServer", "ConnectServerError", "main"]

_SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
_STARTED = "Spark Connect server started at"


class ConnectServerError(MedallionError, RuntimeError):
    """A Spark Connect server could not be started.

    Example:
        >>> issubclass(ConnectServerError, RuntimeError)
        True
    """


class ConnectServer:
    """A Spark Connect server with Delta, started by ``spark-submit`` in its own process.

    Args:
        master: The server's master: ``"local[2]"`` by default, or a cluster's URL.
        port: The gRPC port; a free one when ``None``.
        host: The address the server binds to.
        directory: The folder of its log (``server.log``); a temporary one when ``None``.
        jars_dir: A folder of jars instead of resolving Delta from Maven Central.
        config: More Spark settings for the server (they override medallion's).
        start_timeout: Seconds to wait for the server to listen.

    Example:
        Typical use (not run here: it starts a JVM)::

            with ConnectServer() as server:
                spark = spark_session(remote=server.url)

        Nothing runs until it is started:

        >>> server = ConnectServer(port=15002)
        >>> server.url, server.running
        ('sc://127.0.0.1:15002', False)
    """

    def __init__(
        self,
        *,
        master: str = "local[2]",
        port: int | None = None,
        host: str = "127.0.0.1",
        directory: str | os.PathLike[str] | None = None,
        jars_dir: str | os.PathLike[str] | None = None,
        config: Mapping[str, str] | None = None,
        start_timeout: float = 180.0,
    ) -> None:
        self.master = master
        self.host = host
        self.port = port
        self.directory = Path(directory) if directory is not None else None
        self.jars_dir = jars_dir
        self.config = dict(config or {})
        self.start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's ``sc://host:port`` URL (its port is known once started)."""
        return f"sc://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the server's process is running."""
        return self._process is not None and self._process.poll() is None

    @property
    def log(self) -> Path:
        """The server's log file."""
        if self.directory is None:
            raise ConnectServerError("the Spark Connect server has not been started")
        return self.directory / "server.log"

    def command(self) -> list[str]:
        """The ``spark-submit`` command line that starts the server.

        Example:
            >>> command = ConnectServer(port=15002).command()
            >>> command[command.index("--class") + 1]
            'org.apache.spark.sql.connect.service.SparkConnectServer'
            >>> "spark.connect.grpc.binding.port=15002" in command
            True
        """
        import pyspark

        from medallion.session import delta_config

        settings = delta_config(master=self.master, jars_dir=self.jars_dir, config=self.config)
        settings["spark.connect.grpc.binding.address"] = self.host
        settings["spark.connect.grpc.binding.port"] = str(self.port)
        submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
        command = [str(submit), "--class", _SERVER_CLASS, "--master", self.master]
        for key, value in settings.items():
            command += ["--conf", f"{key}={value}"]
        return [*command, "--name", "medallion Spark Connect server", "spark-internal"]

    def start(self) -> ConnectServer:
        """Start the server; return once it listens.

        Raises:
            ConnectServerError: It exited or did not listen within ``start_timeout``; the
                message ends with its log.

        Example:
            ``ConnectServer().start()`` then ``stop()``, or a ``with`` block (not run here).

            >>> ConnectServer().running
            False
        """
        if self.running:
            return self
        if self.port is None:
            self.port = _free_port(self.host)
        if self.directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix="medallion-connect-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "SPARK_LOCAL_IP": self.host, "PYSPARK_PYTHON": sys.executable}
        with self.log.open("wb") as out:
            self._process = subprocess.Popen(
                self.command(),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ConnectServerError(
                    f"the Spark Connect server exited ({self._process.returncode}):\n"
                    + self._tail()
                )
            if _STARTED in self.log.read_text(errors="replace"):
                return self
            time.sleep(0.2)
        self.stop()
        raise ConnectServerError(
            f"the Spark Connect server did not listen within {self.start_timeout}s:\n"
            + self._tail()
        )

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout`` seconds).

        Args:
            timeout: Seconds to wait after SIGTERM.

        Example:
            >>> ConnectServer().stop()  # not started: nothing to do
        """
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def _tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> ConnectServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def main(argv: Sequence[str] | None = None) -> int:
    """Run a Spark Connect server in the foreground until Ctrl-C or SIGTERM.

    Args:
        argv: The command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status.

    Example:
        ``python -m medallion.testing.connect --port 15002`` (not run here).

        >>> main(["--help"])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        SystemExit: 0
    """
    parser = argparse.ArgumentParser(
        prog="python -m medallion.testing.connect",
        description="Run a Spark Connect server with Delta Lake on this machine.",
    )
    parser.add_argument("--port", type=int, help="the gRPC port (default: a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="the address to bind")
    parser.add_argument("--master", default="local[2]", help="the server's Spark master")
    parser.add_argument("--dir", help="the folder of its log (default: a temporary one)")
    parser.add_argument("--jars-dir", help="a folder of jars instead of Maven Central")
    parser.add_argument(
        "--conf", action="append", default=[], metavar="KEY=VALUE", help="a Spark setting"
    )
    args = parser.parse_args(argv)
    config = dict(item.split("=", 1) for item in args.conf)
    server = ConnectServer(
        master=args.master,
        port=args.port,
        host=args.host,
        directory=args.dir,
        jars_dir=args.jars_dir,
        config=config,
    )
    stop = False

    def _stop(number: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    with server:
        print(server.url, flush=True)
        print(f"log: {server.log}", file=sys.stderr, flush=True)
        try:
            while not stop and server.running:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
