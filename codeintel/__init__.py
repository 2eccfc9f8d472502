"""codeintel: a code-intelligence tool that learns from the repository it works in."""
__version__ = "0.1.0"
