"""Secrets kept out of text: a :class:`Secret` value, and which setting names name secrets.

A password, a JAAS configuration, a cloud storage key: medallion holds each one as a
:class:`Secret`, which shows ``****`` wherever it is turned into text (``repr``, ``str``,
f-strings, ``%s`` in a log line), stays a :class:`Secret` in ``attrs.asdict`` and refuses to be
pickled. The text itself comes out only through :meth:`Secret.reveal`, where it is handed to
Spark or Kafka (:meth:`medallion.streaming.kafka.KafkaSource.spark_options`).

:data:`SECRET_NAMES` is the pattern of setting names whose values are secret; the ``medallion``
command never echoes the value of a ``--conf`` whose name matches it, and
:func:`medallion.spark_session` sets it as Spark's own ``spark.redaction.regex``, so that Spark
redacts the same settings in its UI, event logs and plans.

A :class:`Secret` keeps its value out of text, not out of reach: code running in the same
process can still call :meth:`~Secret.reveal`.

Example:
    >>> password = Secret("hunter2")
    >>> password, f"connecting with {password}"
    (Secret('****'), 'connecting with ****')
    >>> password.reveal()
    'hunter2'
    >>> names_secret("spark.hadoop.fs.s3a.secret.key"), names_secret("spark.master")
    (True, False)
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable
from typing import Any, NoReturn, final

from attrs.exceptions import FrozenInstanceError

__all__ = ["REDACTED", "SECRET_NAMES", "Secret", "names_secret", "redact"]

#: What a secret looks like in text.
REDACTED = "****"

#: The names of settings whose values are secret (a regular expression, the same in Python and
#: Java): Spark's default ``spark.redaction.regex`` (``(?i)secret|password|token|access[.]?key``)
#: and also ``passwd``, ``credential`` (BigQuery's ``credentials``), ``jaas``
#: (``kafka.sasl.jaas.config``) and the keys of cloud storage (``fs.azure.account.key.*``,
#: ``*.private.key``, ``*.encryption.key``, ``ssl.keystore.key``, ``api.key``).
SECRET_NAMES = (
    r"(?i)secret|password|passwd|token|access[.]?key|credential|jaas"
    r"|(account|api|private|encryption|keystore)[._-]?key"
)

_SECRET_NAMES = re.compile(SECRET_NAMES)


def names_secret(name: str) -> bool:
    """Whether a setting's name says its value is secret (it matches :data:`SECRET_NAMES`).

    Args:
        name: A setting's name: a Spark, Hadoop or Kafka option.

    Returns:
        ``True`` for ``spark.hadoop.fs.s3a.secret.key``, ``kafka.sasl.jaas.config``,
        ``kafka.ssl.truststore.password``, ``fs.azure.account.key.<account>...``, ...

    Example:
        >>> [names_secret(name) for name in (
        ...     "kafka.sasl.jaas.config", "kafka.ssl.key.password", "fs.s3a.access.key",
        ...     "fs.azure.account.key.acct.dfs.core.windows.net", "credentials",
        ... )]
        [True, True, True, True, True]
        >>> [names_secret(name) for name in ("kafka.bootstrap.servers", "primary_keys")]
        [False, False]
    """
    return _SECRET_NAMES.search(name) is not None


@final
class Secret:
    """A secret string that shows as ``****`` in ``repr``, ``str``, f-strings and logs.

    Frozen and compared by value (two secrets with the same text are equal; a secret never
    equals a plain string). It is not an ``attrs`` class, so ``attrs.asdict`` of a class that
    holds one keeps the :class:`Secret` object rather than its text.

    Pickling raises ``TypeError``, and so does everything that pickles (Spark shipping a
    UDF's closure to its executors, ``multiprocessing``, a cache on disk): a pickled secret
    would be its text in a file or on the wire, and one pickled as ``****`` would come back as
    a wrong credential that fails far from here. Reveal the value in the code that needs it on
    the other side, or pass it there through the environment or a secret store. ``copy.copy``
    and ``copy.deepcopy`` return the same object (it is immutable).

    Args:
        value: The secret text, or a :class:`Secret` (its text is taken).

    Raises:
        TypeError: ``value`` is neither a string nor a :class:`Secret`.

    Example:
        >>> import logging, pickle, attrs
        >>> password = Secret("hunter2")
        >>> repr(password), str(password), f"{password}", "%s" % password
        ("Secret('****')", '****', '****', '****')
        >>> password == Secret("hunter2"), password == "hunter2"
        (True, False)
        >>> @attrs.frozen
        ... class Login:
        ...     user: str
        ...     password: Secret
        >>> attrs.asdict(Login("app", password))
        {'user': 'app', 'password': Secret('****')}
        >>> try:
        ...     pickle.dumps(password)
        ... except TypeError as exc:
        ...     print(str(exc)[:35])
        a Secret cannot be pickled: reveal(
    """

    __slots__ = ("_value",)
    _value: str

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            value = value._value
        if not isinstance(value, str):
            raise TypeError(f"a Secret holds a string, not a {type(value).__name__}")
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """The secret text: call it only where the value is handed to Spark or Kafka.

        Returns:
            The text.

        Example:
            >>> token = Secret("t0k3n")
            >>> {"kafka.sasl.oauthbearer.token": token.reveal()}
            {'kafka.sasl.oauthbearer.token': 't0k3n'}
        """
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return format(REDACTED, spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise FrozenInstanceError()

    def __delattr__(self, name: str) -> NoReturn:
        raise FrozenInstanceError()

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError(
            "a Secret cannot be pickled: reveal() it where it is needed, or pass it through the "
            "environment or a secret store"
        )

    def __reduce__(self) -> NoReturn:
        self.__reduce_ex__(None)


def redact(text: str, secrets: Iterable[str | Secret]) -> str:
    """A text with every occurrence of each secret's value replaced by ``****``.

    For messages that may quote a secret: an error raised by Spark or Kafka after the value
    was handed to them, say.

    Args:
        text: The message.
        secrets: The values to hide (secrets or plain strings; empty ones are ignored).

    Returns:
        The text, redacted.

    Example:
        >>> redact('login failed for password="hunter2"', [Secret("hunter2")])
        'login failed for password="****"'
    """
    values = {s.reveal() if isinstance(s, Secret) else s for s in secrets}
    for value in sorted(filter(None, values), key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return text
