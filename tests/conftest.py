import os

# Tests never show progress bars and never cache numba kernels on disk.
os.environ.setdefault("CIMTWIN_PROGRESS", "0")
os.environ.setdefault("CIMTWIN_NUMBA_CACHE", "0")
