"""Dalyvauk: civic participation chatbot."""

__version__ = "0.1.0"
