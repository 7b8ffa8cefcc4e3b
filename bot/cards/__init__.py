"""Adaptive Card 1.5 renderers: pure ``render_*(view) -> dict`` functions over JSON templates."""
