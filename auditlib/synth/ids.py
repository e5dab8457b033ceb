"""Identifiers with real structure: GB 11643 citizen ids, bank card numbers, accounts.

Examples
--------
>>> gb11643_check_digit("11010519491231002")
'X'
>>> is_valid_gb11643("11010519491231002X")
True
>>> is_valid_gb11643("110105194912310021")
False
>>> luhn_check_digit("7992739871")
'3'
"""

from __future__ import annotations

import datetime as dt

import numpy as np

GB11643_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
GB11643_CODES = "10X98765432"


def gb11643_check_digit(first17: str) -> str:
    """The 18th character of a GB 11643-1999 citizen id (ISO 7064 MOD 11-2)."""
    if len(first17) != 17 or not first17.isdigit():
        msg = f"expected 17 digits, got {first17!r}"
        raise ValueError(msg)
    total = sum(int(c) * int(w) for c, w in zip(first17, GB11643_WEIGHTS, strict=True))
    return GB11643_CODES[total % 11]


def is_valid_gb11643(pid: str) -> bool:
    """Whether ``pid`` is an 18-character id with a valid birth date and check digit."""
    if len(pid) != 18 or not pid[:17].isdigit():
        return False
    try:
        dt.date(int(pid[6:10]), int(pid[10:12]), int(pid[12:14]))
    except ValueError:
        return False
    return gb11643_check_digit(pid[:17]) == pid[17].upper()


def digits_matrix(values: np.ndarray, width: int) -> np.ndarray:
    """The decimal digits of non-negative int64 ``values`` as an (n, width) array, zero-padded."""
    v = np.asarray(values, dtype=np.int64).copy()
    out = np.empty((len(v), width), dtype=np.int64)
    for i in range(width - 1, -1, -1):
        out[:, i] = v % 10
        v //= 10
    return out


def matrix_to_str(digits: np.ndarray) -> np.ndarray:
    """Rows of digits (0-9 ints) as strings."""
    if len(digits) == 0:
        return np.array([], dtype=object)
    chars = (digits.astype(np.uint8) + ord("0")).view(np.uint8)
    width = digits.shape[1]
    return np.frombuffer(np.ascontiguousarray(chars).tobytes(), dtype=f"S{width}").astype(str)


def make_gb11643(region: np.ndarray, birth: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """Vectorised citizen ids from region code (int, 6 digits), birth date
    (``datetime64[D]``) and 3-digit sequence number (odd = male, even = female)."""
    b = np.asarray(birth, dtype="datetime64[D]")
    y = b.astype("datetime64[Y]").astype(np.int64) + 1970
    m = b.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (b - b.astype("datetime64[M]")).astype(np.int64) + 1
    body = (
        np.asarray(region, dtype=np.int64) * 10**11 + y * 10**7 + m * 10**5 + d * 10**3
        + np.asarray(seq, dtype=np.int64)
    )
    digits = digits_matrix(body, 17)
    check = (digits * GB11643_WEIGHTS).sum(axis=1) % 11
    codes = np.array(list(GB11643_CODES))[check]
    return np.char.add(matrix_to_str(digits), codes).astype(object)


def luhn_check_digit(body: str) -> str:
    """The Luhn check digit bank card numbers end with."""
    total = 0
    for i, c in enumerate(reversed(body)):
        n = int(c)
        if i % 2 == 0:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return str((10 - total % 10) % 10)


def make_cards(bin6: np.ndarray, serial: np.ndarray) -> np.ndarray:
    """19-digit bank card numbers: 6-digit BIN, 12-digit serial, Luhn check digit."""
    body = np.asarray(bin6, dtype=np.int64) * 10**12 + np.asarray(serial, dtype=np.int64)
    digits = digits_matrix(body, 18)
    rev = digits[:, ::-1].copy()
    dbl = rev[:, 0::2] * 2
    dbl = np.where(dbl > 9, dbl - 9, dbl)
    total = dbl.sum(axis=1) + rev[:, 1::2].sum(axis=1)
    check = (10 - total % 10) % 10
    return np.char.add(matrix_to_str(digits), check.astype(str)).astype(object)


def random_accounts(rng: np.random.Generator, n: int, *, leading_zero: np.ndarray | None = None,
                    taken: set[str] | None = None) -> np.ndarray:
    """``n`` random corporate account numbers of 16-19 digits, unique among themselves and
    not in ``taken`` (which is updated).

    Where ``leading_zero`` is true the number starts with ``0`` (as some rural banks'
    accounts do); the rest start with a non-zero digit.
    """
    lz = np.zeros(n, dtype=bool) if leading_zero is None else np.asarray(leading_zero, dtype=bool)
    seen = taken if taken is not None else set()
    out = np.empty(n, dtype=object)
    todo = np.arange(n)
    while len(todo):
        k = len(todo)
        lengths = rng.integers(16, 20, size=k)
        digits = rng.integers(0, 10, size=(k, 19))
        digits[:, 0] = np.where(lz[todo], 0, rng.integers(1, 10, size=k))
        strs = matrix_to_str(digits)
        again = []
        for i, s, ln in zip(todo, strs, lengths, strict=True):
            s = s[:ln]
            if s in seen:
                again.append(i)
            else:
                seen.add(s)
                out[i] = s
        todo = np.array(again, dtype=np.int64)
    return out
