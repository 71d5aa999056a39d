"""Renderers: turn analyses into terminal output, JSON and other formats. They compute nothing."""
