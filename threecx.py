"""3CX bridge (placeholder; being written)."""
from flask import Blueprint

bp = Blueprint("threecx", __name__)
MODELS = []


def add_cli(subparsers, parser_class):
    """Add the ``gateway 3cx ...`` commands."""
