"""maskutils: the tested library behind the maskstudy notebooks."""

__version__ = "0.1.0"
