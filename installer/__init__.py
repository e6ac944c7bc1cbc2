"""The steps of ``install.py``, one module per job (standard library only)."""
