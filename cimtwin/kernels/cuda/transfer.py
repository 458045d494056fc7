"""Host <-> device copies through pinned staging buffers, overlapped with the host-side copy.

A copy from pageable (ordinary) host memory runs at a fraction of the bus speed: the driver
stages it through its own small pinned buffer, synchronously. Here a grid goes through two
pinned buffers of ``chunk_bytes`` in turn: while the DMA engine moves chunk k, all CPU cores
copy chunk k+1 into the other buffer (one core's memcpy is slower than the bus), so the
transfer runs at about the slower of the bus and a parallel host memcpy. An array that is already pinned (see :func:`pinned_empty`) is copied in one
asynchronous DMA without staging.

Examples
--------
>>> import numpy as np
>>> from cimtwin.kernels.cuda.transfer import upload, download   # doctest: +SKIP
>>> d = upload(np.ones((1000, 1000), np.float32))                 # doctest: +SKIP
>>> download(d).sum()                                              # doctest: +SKIP
np.float32(1000000.0)
"""

from __future__ import annotations

import weakref

import numba
import numpy as np
from numba import cuda

from cimtwin.kernels.cuda._device import is_device

CHUNK_BYTES = 64 << 20  # per staging buffer; two of them
_STAGE: dict = {}  # {"n": bytes per buffer, "bufs": the two pinned uint8 buffers}
_PINNED: dict = {}  # id -> weak reference, for arrays made by pinned_empty


def pinned_empty(shape, dtype) -> np.ndarray:
    """A page-locked host array: copies to and from the GPU go at full bus speed, asynchronously."""
    a = cuda.pinned_array(shape, dtype=dtype)
    for key in [k for k, r in _PINNED.items() if r() is None]:
        del _PINNED[key]
    _PINNED[id(a)] = weakref.ref(a)
    return a


@numba.njit(parallel=True, nogil=True)
def _par_copy(dst, src):
    """``dst[:] = src`` for flat uint8 arrays, split over the CPU cores."""
    n = src.shape[0]
    parts = 64
    for b in numba.prange(parts):
        s = b * n // parts
        e = (b + 1) * n // parts
        dst[s:e] = src[s:e]


def _stage(nbytes: int):
    if _STAGE.get("n") != nbytes:
        _STAGE.clear()
        _STAGE["n"] = nbytes
        _STAGE["bufs"] = [cuda.pinned_array(nbytes, np.uint8) for _ in range(2)]
    return _STAGE["bufs"]


def _is_pinned(a: np.ndarray) -> bool:
    # numba's pinned arrays keep the pinned allocation as their base
    base = a
    while base is not None:
        if type(base).__name__ in ("PinnedMemory", "MappedMemory"):
            return True
        ref = _PINNED.get(id(base))
        if ref is not None and ref() is base:
            return True
        base = getattr(base, "base", None)
    return False


def upload(a, dtype=None, *, chunk_bytes: int = CHUNK_BYTES, stream=None):
    """A device copy of host array ``a`` (C-contiguous, ``dtype``); device arrays pass through."""
    if is_device(a):
        return a
    a = np.ascontiguousarray(a, dtype=dtype)
    out = cuda.device_array(a.shape, a.dtype, stream=stream or 0)
    if a.nbytes == 0:
        return out
    src = a.reshape(-1).view(np.uint8)
    dst = out.reshape(out.size).view(np.uint8)
    stream = stream or cuda.stream()
    if _is_pinned(a) or a.nbytes <= chunk_bytes // 8:
        dst.copy_to_device(src, stream=stream)
        stream.synchronize()
        return out
    bufs = _stage(chunk_bytes)
    events = [None, None]
    for k, s in enumerate(range(0, src.size, chunk_bytes)):
        e = min(s + chunk_bytes, src.size)
        b = k % 2
        if events[b] is not None:
            events[b].synchronize()  # the DMA out of this buffer is done
        buf = bufs[b][: e - s]
        _par_copy(buf, src[s:e])
        dst[s:e].copy_to_device(buf, stream=stream)
        events[b] = cuda.event()
        events[b].record(stream)
    stream.synchronize()
    return out


def download(d, out: np.ndarray | None = None, *, chunk_bytes: int = CHUNK_BYTES, stream=None) -> np.ndarray:
    """A host copy of device array ``d`` (into ``out`` when given)."""
    if out is None:
        out = np.empty(d.shape, d.dtype)
    if d.size == 0:
        return out
    src = d.reshape(d.size).view(np.uint8)
    dst = out.reshape(-1).view(np.uint8)
    stream = stream or cuda.stream()
    if _is_pinned(out) or out.nbytes <= chunk_bytes // 8:
        src.copy_to_host(dst, stream=stream)
        stream.synchronize()
        return out
    bufs = _stage(chunk_bytes)
    pending = []  # (event, buffer, host slice) waiting to be copied out of the staging buffer
    for k, s in enumerate(range(0, src.size, chunk_bytes)):
        e = min(s + chunk_bytes, src.size)
        buf = bufs[k % 2][: e - s]
        if len(pending) == 2:  # the buffer is about to be reused: drain it first
            ev, pbuf, ps, pe = pending.pop(0)
            ev.synchronize()
            _par_copy(dst[ps:pe], pbuf)
        src[s:e].copy_to_host(buf, stream=stream)
        ev = cuda.event()
        ev.record(stream)
        pending.append((ev, buf, s, e))
    for ev, pbuf, ps, pe in pending:
        ev.synchronize()
        _par_copy(dst[ps:pe], pbuf)
    return out
