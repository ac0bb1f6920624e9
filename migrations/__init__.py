"""Schema versions: one module per step, named ``NNNN_what.py``.

``migrate.py`` applies them in order; see its docstring for the rules a
migration follows.
"""
